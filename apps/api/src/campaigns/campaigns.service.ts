import { randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { FULL_ACCESS, type DataAccess } from '../auth/access.js';
import { maskEmail } from '../auth/secrets.js';
import {
  AUDIENCE_SAMPLE_SIZE,
  BASE_SEGMENTS,
  CAMPAIGN_EXPORT_COLUMNS,
  GOAL_EVENT_DAYS,
  type Audience,
  type AudienceFieldList,
  type AudienceHistory,
  type AudiencePoint,
  type AudienceSegmentCount,
  type Campaign,
  type CampaignExportQuery,
  type CampaignList,
  type CampaignMembersPage,
  type CampaignListQuery,
  type CampaignMembersQuery,
  type CampaignOutcome,
  type CampaignPreview,
  type CampaignPreviewRequest,
  type CreateCampaignRequest,
  type CreatedCampaign,
  type DeliveryList,
  type GoalEvent,
  type GoalEventList,
  type GroupOutcome,
  type WebhookSecret,
} from '@retain/contracts';
import { csvLine } from '../common/csv/csv-writer.js';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { SqlParams, audienceCondition, audienceFieldList, isCustomSegmentKey } from './audience-sql.js';
import { AudienceRepository, type AudienceWhere } from './audience.repository.js';
import { CampaignsRepository, type OutcomeRow } from './campaigns.repository.js';
import { differenceOfProportions } from './uplift.js';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository.js';

const isUniqueViolation = (error: unknown): boolean => (error as { code?: unknown })?.code === '23505';

const notFound = (id: number): AppException =>
  new AppException(ErrorCode.NotFound, `Campaign ${id} does not exist`);

const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64url')}`;

/** A resolved audience: its SQL condition and the names of the custom segments it names. */
interface CompiledAudience {
  where: AudienceWhere;
  customNames: Map<string, string>;
}

export interface ScheduledRefresh {
  campaigns: number;
  added: number;
  failed: number;
}

/**
 * Campaigns: audiences previewed and drawn (with suppression and a holdout), delivered as CSV or
 * webhook batches, and measured. Audiences are checked (segments exist, the filter compiles)
 * before any query runs.
 */
@Injectable()
export class CampaignsService {
  private readonly logger = new Logger('Campaigns');
  private goalEventCache: { runId: number; events: Promise<GoalEvent[]> } | null = null;

  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly audiences: AudienceRepository,
    private readonly deliveryLog: WebhookDeliveriesRepository,
  ) {}

  fields(): AudienceFieldList {
    return audienceFieldList();
  }

  /**
   * Suggestions for a campaign's goal: the event names products sent lately. Counting them reads a
   * month of events, so the answer is kept until the next analytics run.
   */
  async goalEvents(): Promise<GoalEventList> {
    const runId = await this.campaigns.lastRunId();
    if (this.goalEventCache?.runId !== runId) {
      const events = this.campaigns.goalEvents(GOAL_EVENT_DAYS);
      this.goalEventCache = { runId, events };
      // A failed count is not kept: the next request tries again.
      events.catch(() => {
        if (this.goalEventCache?.events === events) this.goalEventCache = null;
      });
    }
    return { days: GOAL_EVENT_DAYS, events: await this.goalEventCache.events };
  }

  async preview(request: CampaignPreviewRequest): Promise<CampaignPreview> {
    const { where, customNames } = await this.compile(request.audience);
    const segments = [...new Set(request.audience.segments)];
    const [counts, sample, bySegment, suppressed, asOf] = await Promise.all([
      this.audiences.counts(where),
      this.audiences.sample(where, AUDIENCE_SAMPLE_SIZE),
      this.audiences.bySegment(where, [...customNames.keys()]),
      request.suppression ? this.audiences.suppressed(where, request.suppression) : null,
      this.audiences.scoresAsOf(),
    ]);
    const keys = segments.length > 0 ? segments : BASE_SEGMENTS;
    return {
      ...counts,
      sample,
      bySegment: keys.map((key): AudienceSegmentCount => ({
        key,
        name: customNames.get(key) ?? key,
        kind: isCustomSegmentKey(key) ? 'custom' : 'base',
        ...(bySegment.get(key) ?? { accounts: 0, contacts: 0 }),
      })),
      suppression: suppressed && {
        suppressed: {
          unsubscribed: suppressed.unsubscribed,
          recentlyContacted: suppressed.recentlyContacted,
          frequencyCapped: suppressed.frequencyCapped,
        },
        accounts: suppressed.accounts,
        contacts: suppressed.contacts,
      },
      asOf: asOf?.toISOString() ?? null,
    };
  }

  /** Saves the campaign and draws its first members; the webhook secret is answered this once. */
  async create(request: CreateCampaignRequest): Promise<CreatedCampaign> {
    const { where } = await this.compile(request.audience);
    const webhookSecret = request.webhook ? newWebhookSecret() : null;
    let id: number;
    try {
      id = await this.campaigns.create(
        {
          name: request.name,
          description: request.description ?? null,
          channel: request.channel,
          schedule: request.schedule,
          goal: request.goal,
          holdoutPct: request.holdoutPct,
          holdoutSalt: randomBytes(8).toString('hex'),
          audience: request.audience,
          suppression: request.suppression,
          webhook: request.webhook ? { ...request.webhook, secret: webhookSecret! } : null,
        },
        where,
      );
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new AppException(ErrorCode.Conflict, `A campaign named "${request.name}" already exists`, {
        fields: [{ path: 'name', message: 'is taken' }],
      });
    }
    return { ...(await this.get(id)), webhookSecret };
  }

  async list(query: CampaignListQuery): Promise<CampaignList> {
    const [campaigns, totals] = await Promise.all([
      this.campaigns.list(query.limit, query.offset),
      this.campaigns.listTotals(),
    ]);
    return { campaigns, ...totals, limit: query.limit, offset: query.offset };
  }

  async get(id: number): Promise<Campaign> {
    const campaign = await this.campaigns.findById(id);
    if (!campaign) throw notFound(id);
    return campaign;
  }

  async stop(id: number): Promise<Campaign> {
    if (!(await this.campaigns.stop(id))) throw notFound(id);
    return this.get(id);
  }

  async rotateWebhookSecret(id: number): Promise<WebhookSecret> {
    const campaign = await this.get(id);
    if (!campaign.webhook)
      throw new AppException(
        ErrorCode.Conflict,
        `Campaign ${id} has no webhook (channel ${campaign.channel})`,
      );
    const webhookSecret = newWebhookSecret();
    await this.campaigns.setWebhookSecret(id, webhookSecret);
    return { webhookSecret };
  }

  /** Draws the audience's new matches now (what every analytics run does for refresh campaigns). */
  async refresh(id: number): Promise<AudiencePoint> {
    const spec = await this.campaigns.findSpec(id);
    if (!spec) throw notFound(id);
    if (spec.status !== 'active') throw new AppException(ErrorCode.Conflict, `Campaign ${id} is stopped`);
    const point = await this.campaigns.refresh(id, (await this.compile(spec.audience)).where);
    if (!point) throw new AppException(ErrorCode.Conflict, `Campaign ${id} is stopped`);
    return point;
  }

  /**
   * At the end of each successful analytics run: brings contacts' last activity up to date and lets
   * new matches join every active refresh campaign. A campaign that fails is logged and skipped;
   * this never throws.
   */
  async refreshScheduled(): Promise<ScheduledRefresh> {
    const started = performance.now();
    const summary: ScheduledRefresh = { campaigns: 0, added: 0, failed: 0 };
    try {
      await this.audiences.refreshContactActivity();
      for (const id of await this.campaigns.refreshingIds()) {
        try {
          const point = await this.refresh(id);
          summary.campaigns++;
          summary.added += point.added.contacted + point.added.holdout;
        } catch (error) {
          summary.failed++;
          this.logger.warn(`Campaign ${id} not refreshed: ${error instanceof Error ? error.message : error}`);
        }
      }
    } catch (error) {
      this.logger.error(`Campaign refresh failed: ${error instanceof Error ? error.message : error}`);
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    this.logger.log(
      `Campaigns refreshed: ${summary.campaigns} (${summary.added} new members, ${summary.failed} failed) in ${seconds}s`,
    );
    return summary;
  }

  async members(
    id: number,
    query: CampaignMembersQuery,
    access: DataAccess = FULL_ACCESS,
  ): Promise<CampaignMembersPage> {
    await this.get(id);
    const members = await this.campaigns.members(id, query.group ?? null, query.after ?? 0, query.limit);
    return {
      members: access.contactEmails ? members : members.map((m) => ({ ...m, email: maskEmail(m.email)! })),
      nextAfter: members.length === query.limit ? members.at(-1)!.contactId : null,
    };
  }

  async history(id: number): Promise<AudienceHistory> {
    await this.get(id);
    return { points: await this.campaigns.history(id) };
  }

  async deliveries(id: number): Promise<DeliveryList> {
    await this.get(id);
    return this.deliveryLog.list(id);
  }

  /** Contacted members (never the holdout) as CSV; each export is logged on the campaign. */
  async exportCsv(id: number, query: CampaignExportQuery): Promise<AsyncGenerator<string>> {
    const campaign = await this.get(id);
    const since = query.since ? new Date(query.since) : null;
    await this.campaigns.logExport(id, await this.campaigns.countContacted(id, since));
    return this.csvLines(campaign, since);
  }

  private async *csvLines(campaign: Campaign, since: Date | null): AsyncGenerator<string> {
    yield csvLine(CAMPAIGN_EXPORT_COLUMNS);
    for await (const batch of this.campaigns.contacted(campaign.id, since)) {
      let chunk = '';
      for (const m of batch)
        chunk += csvLine([
          m.email,
          m.name,
          m.role,
          m.contactExternalId,
          m.accountExternalId,
          m.accountName,
          m.segment,
          campaign.name,
          m.assignedAt,
        ]);
      yield chunk;
    }
  }

  /** Goal conversion, contacted against holdout, per member account, with the uplift's 95% interval. */
  async outcome(id: number): Promise<CampaignOutcome> {
    const campaign = await this.get(id);
    const { asOf, groups } = await this.campaigns.outcome(id, campaign.goal);
    const [contacted, holdout] = groups as [OutcomeRow, OutcomeRow];
    const uplift = differenceOfProportions(
      contacted.converted,
      contacted.members,
      holdout.converted,
      holdout.members,
    );
    const rate = (g: OutcomeRow): GroupOutcome => ({
      members: g.members,
      converted: g.converted,
      rate: g.members > 0 ? g.converted / g.members : null,
    });
    const cumulative = (g: OutcomeRow, day: number, sofar: { n: number }): number | null => {
      sofar.n += g.byDay.get(day) ?? 0;
      return g.members > 0 ? sofar.n / g.members : null;
    };
    const soFar = { contacted: { n: 0 }, holdout: { n: 0 } };
    return {
      goal: campaign.goal,
      unit: 'account',
      asOf: asOf.toISOString(),
      contacted: rate(contacted),
      holdout: rate(holdout),
      uplift: uplift?.difference ?? null,
      ci: uplift && { ...uplift.ci, level: 0.95, method: 'newcombe' },
      significant: uplift ? uplift.ci.low > 0 || uplift.ci.high < 0 : null,
      openWindows: contacted.openWindows + holdout.openWindows,
      curve: Array.from({ length: campaign.goal.windowDays + 1 }, (_, day) => ({
        day,
        contacted: cumulative(contacted, day, soFar.contacted),
        holdout: cumulative(holdout, day, soFar.holdout),
      })),
    };
  }

  /**
   * Compiles the audience (a bad filter is a 400 before any query), then checks that its custom
   * segments exist (an unknown id is a 400 naming it).
   */
  private async compile(audience: Audience): Promise<CompiledAudience> {
    const params = new SqlParams();
    const sql = audienceCondition(audience, params);
    const customNames = await this.audiences.customSegmentNames([
      ...new Set(audience.segments.filter(isCustomSegmentKey)),
    ]);
    const fields = audience.segments.flatMap((key, i) =>
      isCustomSegmentKey(key) && !customNames.has(key)
        ? [
            {
              path: `audience.segments.${i}`,
              message: `unknown segment "${key}": no custom segment has this id`,
            },
          ]
        : [],
    );
    if (fields.length > 0)
      throw new AppException(
        ErrorCode.ValidationFailed,
        fields.map((f) => `${f.path}: ${f.message}`).join('; '),
        {
          fields,
        },
      );
    return { where: { sql, values: params.values }, customNames };
  }
}
