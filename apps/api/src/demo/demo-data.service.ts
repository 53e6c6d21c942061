import fs from 'node:fs/promises';
import path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { copyJson, copyNumber, copyRow, copyText, copyTextArray, copyTime } from '../database/copy-text.js';
import { createProgress, type Progress } from '../common/progress/progress.js';
import { RUNTIME, type Runtime } from '../runtime.js';
import { DemoDataRepository, type DemoDataTransaction } from './demo-data.repository.js';
import {
  DEFAULT_DENSITY,
  accountEvents,
  accountTickets,
  churnedAt,
  defaultEnd,
  densityScale,
  planAccounts,
  type DemoAccount,
  type DemoOptions,
} from './demo-model.js';
import { loadDemoCampaigns } from './demo-campaigns.js';
import { groundTruthCsv } from './ground-truth.js';

export interface DemoSummary {
  accounts: number;
  contacts: number;
  events: number;
  tickets: number;
  seconds: number;
  groundTruthFile: string;
}

export interface GenerateRequest {
  accounts: number;
  days: number;
  seed: number;
  end?: Date;
  /** Wipe accounts, contacts, events and tickets first; without it a non-empty database is refused. */
  reset?: boolean;
  progress?: Progress;
}

export class DatabaseNotEmptyError extends Error {
  constructor() {
    super(
      'The database already has accounts, contacts, events or tickets; demo data is only loaded into an empty one (pass --reset to wipe it first).',
    );
    this.name = 'DatabaseNotEmptyError';
  }
}

const EVENT_COLUMNS = [
  'message_id',
  'account_id',
  'contact_id',
  'user_id',
  'group_id',
  'type',
  'name',
  'timestamp',
  'received_at',
  'properties',
];
const TICKET_COLUMNS = [
  'source',
  'external_id',
  'account_id',
  'account_external_id',
  'contact_id',
  'contact_external_id',
  'channel',
  'subject',
  'priority',
  'status',
  'tags',
  'created_at',
  'first_response_at',
  'solved_at',
  'csat_score',
  'csat_scale',
  'csat_comment',
];

/** Generates the believable demo data set and loads it through COPY. */
@Injectable()
export class DemoDataService {
  private readonly logger = new Logger('DemoData');
  private readonly repository: DemoDataRepository;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RUNTIME) runtime: Runtime,
  ) {
    this.repository = new DemoDataRepository(runtime.databaseUrl);
  }

  /** At start: fill an empty database with the configured demo data set; never touch one with data. */
  async seedIfEmpty(): Promise<DemoSummary | null> {
    try {
      const summary = await this.generate({ ...this.config.demo });
      return summary;
    } catch (error) {
      if (error instanceof DatabaseNotEmptyError) {
        this.logger.log('The database has data already; demo data not loaded.');
        return null;
      }
      throw error;
    }
  }

  async generate(request: GenerateRequest): Promise<DemoSummary> {
    const started = performance.now();
    const options: DemoOptions = {
      accounts: request.accounts,
      days: request.days,
      seed: request.seed,
      end: request.end ?? defaultEnd(),
      ...DEFAULT_DENSITY,
    };
    const accounts = planAccounts(options);
    const scale = densityScale(accounts, options);
    const expectedRows = Math.round(
      options.accounts * options.days * (options.eventsPerAccountDay + options.ticketsPerAccountDay),
    );
    const progress = request.progress ?? createProgress('Demo data', (m) => this.logger.log(m), false);

    const counts = await this.repository.inTransaction(async (tx) => {
      if (await tx.hasData()) {
        if (!request.reset) throw new DatabaseNotEmptyError();
        await tx.truncateAll();
      }
      this.logger.log(
        `Generating demo data: ${options.accounts} accounts over ${options.days} days (seed ${options.seed})`,
      );
      progress.start(expectedRows);
      try {
        return await this.load(tx, accounts, options, scale, progress);
      } finally {
        progress.stop();
      }
    });

    const groundTruthFile = await this.writeGroundTruth(accounts, options, counts);
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    this.logger.log(
      `Demo data loaded: ${counts.accounts} accounts, ${counts.contacts} contacts, ${counts.events} events, ${counts.tickets} tickets in ${seconds}s`,
    );
    return { ...counts, seconds, groundTruthFile };
  }

  private async load(
    tx: DemoDataTransaction,
    accounts: DemoAccount[],
    options: DemoOptions,
    scale: { events: number; tickets: number },
    progress: Progress,
  ): Promise<Omit<DemoSummary, 'seconds' | 'groundTruthFile'>> {
    await tx.copy(
      'accounts',
      [
        'external_id',
        'name',
        'plan',
        'mrr',
        'seats',
        'employees',
        'region',
        'owner',
        'created_at',
        'churned_at',
        'renewal_date',
        'traits',
      ],
      accounts.map((a) =>
        copyRow([
          copyText(a.externalId),
          copyText(a.name),
          copyText(a.plan),
          copyNumber(a.mrr),
          copyNumber(a.seats),
          copyNumber(a.employees),
          copyText(a.region),
          copyText(a.owner),
          copyTime(a.createdAt),
          copyTime(churnedAt(a, options)),
          copyText(a.renewalDate),
          copyJson({
            industry: a.industry,
            contract: a.contract,
            annual_contract_value: a.contract === 'annual' ? a.mrr * 12 : null,
          }),
        ]),
      ),
    );
    const accountIds = await tx.idsByExternalId('accounts');

    let contacts = 0;
    await tx.copy(
      'contacts',
      ['external_id', 'account_id', 'account_external_id', 'email', 'name', 'traits', 'created_at'],
      (function* () {
        for (const a of accounts) {
          for (const c of a.contacts) {
            contacts++;
            yield copyRow([
              copyText(c.externalId),
              String(accountIds.get(a.externalId)),
              copyText(a.externalId),
              copyText(c.email),
              copyText(c.name),
              copyJson({ role: c.role }),
              copyTime(a.createdAt),
            ]);
          }
        }
      })(),
    );
    const contactIds = await tx.idsByExternalId('contacts');

    let done = 0;
    let events = 0;
    await tx.copy(
      'events',
      EVENT_COLUMNS,
      (function* () {
        for (const a of accounts) {
          const accountId = String(accountIds.get(a.externalId));
          for (const e of accountEvents(a, options, scale.events)) {
            const contact = a.contacts[e.contactIndex]!;
            events++;
            yield copyRow([
              copyText(e.messageId),
              accountId,
              String(contactIds.get(contact.externalId)),
              copyText(contact.externalId),
              copyText(a.externalId),
              e.type,
              copyText(e.name),
              copyTime(e.timestamp),
              copyTime(new Date(e.timestamp.getTime() + 1500)),
              copyJson(e.properties),
            ]);
          }
          progress.update(done + events);
        }
      })(),
    );
    done += events;

    let tickets = 0;
    await tx.copy(
      'tickets',
      TICKET_COLUMNS,
      (function* () {
        for (const a of accounts) {
          const accountId = String(accountIds.get(a.externalId));
          for (const t of accountTickets(a, options, scale.tickets)) {
            tickets++;
            yield copyRow([
              'demo',
              copyText(t.externalId),
              accountId,
              copyText(a.externalId),
              String(contactIds.get(a.contacts[t.contactIndex]!.externalId)),
              copyText(a.contacts[t.contactIndex]!.externalId),
              t.channel,
              copyText(t.subject),
              copyText(t.priority),
              copyText(t.status),
              copyTextArray(t.tags),
              copyTime(t.createdAt),
              copyTime(t.firstResponseAt),
              copyTime(t.solvedAt),
              copyNumber(t.csatScore),
              copyText(t.csatScale),
              copyText(t.csatComment),
            ]);
          }
          progress.update(done + tickets);
        }
      })(),
    );

    // Past campaigns with a planted effect; their own random streams leave the data above unchanged.
    events += await loadDemoCampaigns(tx, accounts, options, { accounts: accountIds, contacts: contactIds });

    await tx.analyze();
    return { accounts: accounts.length, contacts, events, tickets };
  }

  private async writeGroundTruth(
    accounts: DemoAccount[],
    options: DemoOptions,
    counts: Omit<DemoSummary, 'seconds' | 'groundTruthFile'>,
  ): Promise<string> {
    const dir = path.join(this.config.dataDir, 'demo');
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, 'ground-truth.csv');
    await fs.writeFile(file, groundTruthCsv(accounts, options));
    await fs.writeFile(
      path.join(dir, 'manifest.json'),
      `${JSON.stringify({ seed: options.seed, accounts: options.accounts, days: options.days, end: options.end.toISOString(), counts, generatedAt: new Date().toISOString() }, null, 2)}\n`,
    );
    return file;
  }
}
