import {
  FILTER_MAX_CONDITIONS,
  FILTER_MAX_DEPTH,
  type FieldIssue,
  type FilterField,
  type FilterFieldList,
  type FilterFieldType,
  type FilterNode,
  type FilterOp,
} from '@retain/contracts';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';

/** What a compiled filter reads: a scored account with its account row (aliases s and a). */
export const SEGMENT_FROM = 'account_scores s JOIN accounts a ON a.id = s.account_id';

/**
 * What a compiled audience filter reads: a contact (alias c) of a scored account, with the
 * contact's last activity (alias ca, kept by the campaigns module).
 */
export const AUDIENCE_FROM = `contacts c
  JOIN accounts a ON a.id = c.account_id
  JOIN account_scores s ON s.account_id = a.id
  LEFT JOIN contact_activity ca ON ca.contact_id = c.id`;

/** account: a segment filter over SEGMENT_FROM; audience: a campaign audience over AUDIENCE_FROM. */
export type FilterScope = 'account' | 'audience';

export const TRAIT_PREFIX = 'trait.';
export const TRAIT_KEY = /^[a-z0-9_]{1,64}$/i;
export const CONTACT_PREFIX = 'contact.';
export const CONTACT_TRAIT_PREFIX = 'contact.trait.';

const ORDER_OPS: FilterOp[] = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'not_in'];
const NULL_OPS: FilterOp[] = ['is_null', 'is_not_null'];

export const OPS_BY_TYPE: Record<FilterFieldType, readonly FilterOp[]> = {
  text: ['eq', 'neq', 'in', 'not_in', 'contains', 'starts_with', ...NULL_OPS],
  number: [...ORDER_OPS, ...NULL_OPS],
  timestamp: [...ORDER_OPS, ...NULL_OPS],
  date: [...ORDER_OPS, ...NULL_OPS],
};

/** How a bound value is typed in SQL, so PostgreSQL compares like with like. */
const CAST: Record<FilterFieldType, string> = {
  text: 'text',
  number: 'numeric',
  timestamp: 'timestamptz',
  date: 'date',
};

export interface FieldDefinition<Source extends string = 'account' | 'score' | 'feature'> {
  name: string;
  type: FilterFieldType;
  source: Source;
  /** A fixed SQL expression over aliases a and s (and c, ca for contact fields); never built from input. */
  sql: string;
  description: string;
}

const account = (name: string, type: FilterFieldType, description: string): FieldDefinition => ({
  name,
  type,
  source: 'account',
  sql: `a.${name}`,
  description,
});
const score = (name: string, type: FilterFieldType, description: string): FieldDefinition => ({
  name,
  type,
  source: 'score',
  sql: `s.${name}`,
  description,
});
/** Features are numbers in account_scores.features (some written as numeric text); anything else reads as null. */
const feature = (name: string, description: string): FieldDefinition => ({
  name,
  type: 'number',
  source: 'feature',
  sql: `retain_to_number(s.features->>'${name}')`,
  description,
});

/** The fields a filter may name, from accounts, the last analytics run's scores and its features. */
export const FILTER_FIELDS: readonly FieldDefinition[] = [
  account('external_id', 'text', 'The account’s id in your systems'),
  account('name', 'text', 'Account name'),
  account('plan', 'text', 'Plan'),
  account('mrr', 'number', 'Monthly recurring revenue'),
  account('seats', 'number', 'Seats bought'),
  account('employees', 'number', 'Company size'),
  account('region', 'text', 'Region'),
  account('owner', 'text', 'Account owner (CSM)'),
  account('created_at', 'timestamp', 'When the account was created'),
  account('churned_at', 'timestamp', 'When the account churned; null while a customer'),
  account('renewal_date', 'date', 'Next renewal (YYYY-MM-DD)'),
  score('tier', 'text', 'enterprise, mid_market or smb'),
  score('proficiency', 'text', 'novice or expert'),
  score('proficiency_score', 'number', 'Product proficiency, 0 to 1'),
  score('segment', 'text', 'Base segment, tier-proficiency, e.g. smb-novice'),
  score('churn_risk', 'number', 'Probability of churn in the next 90 days, 0 to 1'),
  score('health', 'number', 'Health score, 0 to 100'),
  score('upsell_score', 'number', 'Upsell propensity, 0 to 1'),
  feature('tenure_days', 'Days since the account was created'),
  feature('events_7d', 'Events in the last 7 days'),
  feature('events_30d', 'Events in the last 30 days'),
  feature('events_90d', 'Events in the last 90 days'),
  feature('events_prior_30d', 'Events in the 30 days before the last 30'),
  feature('activity_trend', 'ln((events_30d + 1) / (events_prior_30d + 1)): 0 steady, 0.69 doubled'),
  feature(
    'activity_vs_baseline_7d',
    'ln((events_7d x 30/7 + 1) / (events 60-90 days ago + 1)): last week against two months ago',
  ),
  feature(
    'activity_vs_baseline_30d',
    'ln((events_30d + 1) / (events 60-90 days ago + 1)): last month against two months ago',
  ),
  feature('activity_drop_7d', 'Share of the pace of 60-90 days ago lost in the last 7 days, 0 to 1'),
  feature('activity_drop_30d', 'Share of the pace of 60-90 days ago lost in the last 30 days, 0 to 1'),
  feature('active_users_30d', 'Distinct active contacts in the last 30 days'),
  feature('active_users_prior_30d', 'Distinct active contacts in the prior 30 days'),
  feature('active_users_growth', 'active_users_30d / active_users_prior_30d - 1'),
  feature('seat_utilisation', 'active_users_30d / seats'),
  feature('events_per_user_30d', 'events_30d / active_users_30d: depth of use per active user'),
  feature('days_since_last_seen', 'Days since the last event'),
  feature('distinct_features_30d', 'Distinct product features used in the last 30 days'),
  feature('feature_events_90d', 'Feature events in the last 90 days'),
  feature('advanced_feature_events_90d', 'Advanced-feature events in the last 90 days'),
  feature('advanced_share_90d', 'Share of feature events that were advanced, 0 to 1'),
  feature('onboarding_steps_done', 'Onboarding steps done'),
  feature('onboarding_completion', 'Share of onboarding steps done, 0 to 1'),
  feature('time_to_value_days', 'Days from creation to the first activation step'),
  feature('help_views_90d', 'Help-page views in the last 90 days'),
  feature('guide_events_90d', 'Guide events in the last 90 days'),
  feature('tickets_90d', 'Support tickets created in the last 90 days'),
  feature('howto_tickets_90d', 'How-to tickets in the last 90 days'),
  feature('howto_share_90d', 'Share of tickets that were how-to, 0 to 1'),
  feature('open_tickets', 'Tickets open now'),
  feature('unresolved_share_90d', 'Share of the tickets created 7 to 90 days ago still open, 0 to 1'),
  feature('asa_minutes_90d', 'Mean first-response minutes over the last 90 days'),
  feature('responded_tickets_90d', 'Tickets answered in the last 90 days'),
  feature(
    'asa_vs_channel_90d',
    'First-response time against the usual time on the same channel (geometric mean): 1 = usual, 2 = twice as slow',
  ),
  feature('ratings_90d', 'CSAT ratings in the last 90 days'),
  feature('satisfied_90d', 'Satisfied CSAT ratings in the last 90 days'),
  feature('csat_pct_90d', 'CSAT in the last 90 days, percent'),
  feature('plan_limit_hits_90d', 'Plan-limit events in the last 90 days'),
  feature('seat_added_90d', 'Seat-added events in the last 90 days'),
  feature('addon_interest_90d', 'Add-on interest events in the last 90 days'),
];

const contact = (
  name: string,
  type: FilterFieldType,
  sql: string,
  description: string,
): FieldDefinition<'contact'> => ({
  name: `${CONTACT_PREFIX}${name}`,
  type,
  source: 'contact',
  sql,
  description,
});

/** Fields of the contact itself, for campaign audiences only. */
export const CONTACT_FILTER_FIELDS: readonly FieldDefinition<'contact'>[] = [
  contact('email', 'text', 'c.email', 'Email address'),
  contact(
    'email_domain',
    'text',
    `lower(split_part(c.email, '@', 2))`,
    'The part of the email after @, in lower case, e.g. example.com',
  ),
  contact('name', 'text', 'c.name', 'Name'),
  contact('role', 'text', `(c.traits->>'role')`, 'Role (the role trait), e.g. admin, analyst'),
  contact('created_at', 'timestamp', 'c.created_at', 'When the contact was first seen'),
  contact(
    'last_seen_at',
    'timestamp',
    'ca.last_seen_at',
    'Last event of the contact (as of the last analytics run)',
  ),
  contact(
    'days_since_last_seen',
    'number',
    `(extract(epoch FROM now() - ca.last_seen_at) / 86400)`,
    'Days since the contact’s last event; null if never seen',
  ),
];

const FIELDS_BY_NAME = new Map(FILTER_FIELDS.map((f) => [f.name, f]));
const CONTACT_FIELDS_BY_NAME = new Map(CONTACT_FILTER_FIELDS.map((f) => [f.name, f]));

export function filterFieldList(): FilterFieldList {
  return {
    fields: FILTER_FIELDS.map((f): FilterField => ({
      name: f.name,
      type: f.type,
      source: f.source,
      ops: [...OPS_BY_TYPE[f.type]],
      description: f.description,
    })),
    traits: {
      prefix: 'trait.',
      keyPattern: TRAIT_KEY.source,
      description:
        'Account traits as trait.<key>: compared as numbers when the value is a number, as text otherwise',
    },
  };
}

export interface CompiledFilter {
  /** A boolean SQL expression over aliases a and s, with $n placeholders. */
  sql: string;
  params: unknown[];
}

const MAX_TEXT = 1_000;
const MAX_LIST = 1_000;
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * The instant an ISO date or date-time (with its zone) names, normalised, or null. Calendar-checked
 * ("2026-02-30" is null) so PostgreSQL never refuses a bound value mid-run.
 */
function parseTime(value: string, dateOnly: boolean): string | null {
  const match = (dateOnly ? ISO_DATE : ISO_TIME).exec(value);
  if (!match) return null;
  const part = (i: number): number => Number(match[i] ?? 0);
  const check = new Date(Date.UTC(part(1), part(2) - 1, part(3), part(4), part(5), part(6)));
  const valid =
    check.getUTCFullYear() === part(1) &&
    check.getUTCMonth() === part(2) - 1 &&
    check.getUTCDate() === part(3) &&
    check.getUTCHours() === part(4) &&
    check.getUTCMinutes() === part(5) &&
    check.getUTCSeconds() === part(6);
  if (!valid) return null;
  return dateOnly ? value : new Date(value).toISOString();
}

/** A resolved field: its SQL expression, its type, and the name to quote in messages. */
interface Target {
  sql: string;
  type: FilterFieldType;
  label: string;
}

class FilterCompiler {
  readonly params: unknown[] = [];
  readonly issues: FieldIssue[] = [];
  private conditions = 0;

  constructor(
    private readonly firstParam: number,
    private readonly scope: FilterScope,
  ) {}

  compile(node: FilterNode, path: string, depth: number): string {
    if (!('field' in node) && depth >= FILTER_MAX_DEPTH)
      return this.fail(path, `nests deeper than ${FILTER_MAX_DEPTH} levels`);
    if ('all' in node) return this.group(node.all, 'AND', 'TRUE', `${path}.all`, depth);
    if ('any' in node) return this.group(node.any, 'OR', 'FALSE', `${path}.any`, depth);
    // NOT of an unknown (null) comparison is true: "not churn_risk > 0.5" includes unscored risk.
    if ('not' in node) return `NOT COALESCE(${this.compile(node.not, `${path}.not`, depth + 1)}, FALSE)`;
    if (++this.conditions > FILTER_MAX_CONDITIONS)
      return this.fail(path, `the filter has more than ${FILTER_MAX_CONDITIONS} conditions`);
    return this.condition(node.field, node.op, node.value, path);
  }

  private group(children: FilterNode[], joiner: string, empty: string, path: string, depth: number): string {
    if (children.length === 0) return empty;
    return `(${children.map((child, i) => this.compile(child, `${path}.${i}`, depth + 1)).join(` ${joiner} `)})`;
  }

  private fail(path: string, message: string): string {
    this.issues.push({ path, message });
    return 'FALSE';
  }

  private bind(value: unknown): string {
    this.params.push(value);
    return `$${this.firstParam + this.params.length - 1}`;
  }

  private condition(field: string, op: FilterOp, value: unknown, path: string): string {
    const target = this.target(field, op, value, path);
    if (!target) return 'FALSE';
    if (!OPS_BY_TYPE[target.type].includes(op))
      return this.fail(
        `${path}.op`,
        `"${op}" does not apply to ${target.type} field "${target.label}" (use ${OPS_BY_TYPE[target.type].join(', ')})`,
      );
    const col = target.sql;
    const cast = CAST[target.type];
    const valuePath = `${path}.value`;
    switch (op) {
      case 'is_null':
      case 'is_not_null':
        if (value !== undefined && value !== null) return this.fail(valuePath, `must be absent for ${op}`);
        return `${col} ${op === 'is_null' ? 'IS NULL' : 'IS NOT NULL'}`;
      case 'between': {
        if (!Array.isArray(value) || value.length !== 2)
          return this.fail(valuePath, 'must be two values [from, to] for between');
        const from = this.scalar(target, value[0], `${valuePath}.0`);
        const to = this.scalar(target, value[1], `${valuePath}.1`);
        if (from === undefined || to === undefined) return 'FALSE';
        return `${col} BETWEEN ${this.bind(from)}::${cast} AND ${this.bind(to)}::${cast}`;
      }
      case 'in':
      case 'not_in': {
        if (!Array.isArray(value) || value.length === 0 || value.length > MAX_LIST)
          return this.fail(valuePath, `must be an array of 1 to ${MAX_LIST} values for ${op}`);
        const items = value.map((item, i) => this.scalar(target, item, `${valuePath}.${i}`));
        if (items.some((item) => item === undefined)) return 'FALSE';
        const list = `${this.bind(items)}::${cast}[]`;
        // Like neq, not_in matches accounts where the field is null.
        return op === 'in' ? `${col} = ANY(${list})` : `(${col} IS NULL OR NOT ${col} = ANY(${list}))`;
      }
      default: {
        const scalar = this.scalar(target, value, valuePath);
        if (scalar === undefined) return 'FALSE';
        const param = `${this.bind(scalar)}::${cast}`;
        if (op === 'contains') return `strpos(lower(${col}), lower(${param})) > 0`;
        if (op === 'starts_with') return `starts_with(lower(${col}), lower(${param}))`;
        // neq matches accounts where the field is null: "plan is not pro" includes accounts without a plan.
        if (op === 'neq') return `${col} IS DISTINCT FROM ${param}`;
        const sqlOp = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' }[op];
        return `${col} ${sqlOp} ${param}`;
      }
    }
  }

  /** The field a condition names; a trait's key is a bound parameter and its type follows the value. */
  private target(field: string, op: FilterOp, value: unknown, path: string): Target | null {
    const known = FIELDS_BY_NAME.get(field);
    if (known) return { sql: known.sql, type: known.type, label: field };
    if (field.startsWith(CONTACT_PREFIX)) return this.contactTarget(field, value, path);
    if (!field.startsWith(TRAIT_PREFIX)) {
      this.fail(`${path}.field`, `unknown field "${field.slice(0, 100)}"`);
      return null;
    }
    return this.traitTarget('a', field, TRAIT_PREFIX, value, path);
  }

  private contactTarget(field: string, value: unknown, path: string): Target | null {
    if (this.scope !== 'audience') {
      this.fail(
        `${path}.field`,
        `unknown field "${field.slice(0, 100)}": contact fields apply to campaign audiences only`,
      );
      return null;
    }
    const known = CONTACT_FIELDS_BY_NAME.get(field);
    if (known) return { sql: known.sql, type: known.type, label: field };
    if (!field.startsWith(CONTACT_TRAIT_PREFIX)) {
      this.fail(`${path}.field`, `unknown field "${field.slice(0, 100)}"`);
      return null;
    }
    return this.traitTarget('c', field, CONTACT_TRAIT_PREFIX, value, path);
  }

  /** A trait of the account (alias a) or contact (alias c), its key bound as a parameter. */
  private traitTarget(
    alias: 'a' | 'c',
    field: string,
    prefix: string,
    value: unknown,
    path: string,
  ): Target | null {
    const key = field.slice(prefix.length);
    if (!TRAIT_KEY.test(key)) {
      this.fail(`${path}.field`, `trait keys are 1 to 64 letters, digits or _ (got "${key.slice(0, 100)}")`);
      return null;
    }
    const sample = Array.isArray(value) ? value : [value];
    const numeric = sample.length > 0 && sample.every((v) => typeof v === 'number');
    const text = `(${alias}.traits->>${this.bind(key)}::text)`;
    return numeric
      ? { sql: `retain_to_number${text}`, type: 'number', label: field }
      : { sql: text, type: 'text', label: field };
  }

  /** A value checked against the field's type and made ready to bind, or undefined (an issue recorded). */
  private scalar(target: Target, value: unknown, path: string): string | number | undefined {
    switch (target.type) {
      case 'number':
        if (typeof value === 'number' && Number.isFinite(value)) return value;
        this.fail(path, `must be a number for ${target.type} field "${target.label}"`);
        return undefined;
      case 'text': {
        // Trait values may be true or false; traits are stored as JSON and read back as text.
        const isTrait =
          target.label.startsWith(TRAIT_PREFIX) || target.label.startsWith(CONTACT_TRAIT_PREFIX);
        const text = typeof value === 'boolean' && isTrait ? String(value) : value;
        if (typeof text !== 'string') {
          this.fail(path, `must be text for text field "${target.label}"`);
          return undefined;
        }
        if (text.length > MAX_TEXT || text.includes('\u0000')) {
          this.fail(path, `must be at most ${MAX_TEXT} characters, without NUL`);
          return undefined;
        }
        return text;
      }
      case 'timestamp':
      case 'date': {
        const dateOnly = target.type === 'date';
        const parsed = typeof value === 'string' ? parseTime(value, dateOnly) : null;
        if (parsed === null) {
          this.fail(
            path,
            dateOnly
              ? `must be a date (YYYY-MM-DD) for date field "${target.label}"`
              : `must be an ISO date or date-time with a zone for timestamp field "${target.label}"`,
          );
          return undefined;
        }
        return parsed;
      }
    }
  }
}

/**
 * Compiles a filter to a parameterised SQL condition over SEGMENT_FROM (or, in the audience scope,
 * AUDIENCE_FROM, where contact fields may be named too). Field names map to fixed SQL from the
 * whitelist; every value (and trait key) is a bound parameter, numbered from `firstParam`. Any
 * unknown field, misapplied op or mistyped value is a VALIDATION_FAILED naming its path, so a bad
 * filter never reaches the database.
 */
export function compileFilter(
  filter: FilterNode,
  options: { firstParam?: number; path?: string; scope?: FilterScope } = {},
): CompiledFilter {
  const compiler = new FilterCompiler(options.firstParam ?? 1, options.scope ?? 'account');
  const sql = compiler.compile(filter, options.path ?? 'filter', 1);
  if (compiler.issues.length > 0) {
    const message = compiler.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new AppException(ErrorCode.ValidationFailed, message, { fields: compiler.issues });
  }
  return { sql, params: compiler.params };
}
