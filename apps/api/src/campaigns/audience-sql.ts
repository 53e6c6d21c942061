import {
  CONTACT_TRAIT_PREFIX,
  type Audience,
  type AudienceFieldList,
  type Suppression,
} from '@retain/contracts';
import {
  AUDIENCE_FROM,
  CONTACT_FILTER_FIELDS,
  FILTER_FIELDS,
  OPS_BY_TYPE,
  TRAIT_KEY,
  compileFilter,
} from '../segments/segment-filter.js';

export { AUDIENCE_FROM };

/** Numbered bind parameters for one statement. */
export class SqlParams {
  readonly values: unknown[];

  /** Continues after `values` (a copy): the parameters of a condition built before. */
  constructor(values: readonly unknown[] = []) {
    this.values = [...values];
  }

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  get next(): number {
    return this.values.length + 1;
  }
}

/** A contact can be in an audience only with something that looks like an email address. */
const emailable = (alias: string): string => `${alias}.email ~ '^[^@[:space:]]+@[^@[:space:]]+$'`;

/**
 * An account's primary contact: the one flagged primary (trait primary = true), else an admin or
 * owner (trait role), else the oldest; only contacts with an email are considered.
 */
const PRIMARY_CONTACT = `c.id = (
  SELECT p.id FROM contacts p
  WHERE p.account_id = c.account_id AND ${emailable('p')}
  ORDER BY COALESCE(lower(p.traits->>'primary') IN ('true', '1', 'yes'), false) DESC,
           COALESCE(lower(p.traits->>'role') IN ('admin', 'owner'), false) DESC,
           p.created_at, p.id
  LIMIT 1)`;

/** Unsubscribed, as email tools report it through identify traits (unsubscribed: true). */
export const UNSUBSCRIBED = `COALESCE(lower(c.traits->>'unsubscribed') IN ('true', '1', 'yes'), false)`;

export const isCustomSegmentKey = (key: string): boolean => /^\d+$/.test(key);

/**
 * The audience as a condition over AUDIENCE_FROM, its values bound in `params`: a contact with an
 * email, at a scored account in any chosen segment, the primary contact if asked, matching the
 * filter. Throws VALIDATION_FAILED (naming audience.filter...) before any query on a bad filter.
 */
export function audienceCondition(audience: Audience, params: SqlParams): string {
  const parts = [emailable('c')];
  const base = audience.segments.filter((key) => !isCustomSegmentKey(key));
  const custom = audience.segments.filter(isCustomSegmentKey);
  const anyOf: string[] = [];
  if (base.length > 0) anyOf.push(`s.segment = ANY(${params.add([...new Set(base)])}::text[])`);
  if (custom.length > 0)
    anyOf.push(
      `EXISTS (SELECT 1 FROM custom_segment_members m
               WHERE m.account_id = a.id AND m.segment_id = ANY(${params.add([...new Set(custom)])}::bigint[]))`,
    );
  if (anyOf.length > 0) parts.push(`(${anyOf.join(' OR ')})`);
  if (audience.primaryContactOnly) parts.push(PRIMARY_CONTACT);
  if (audience.filter) {
    const filter = compileFilter(audience.filter, {
      firstParam: params.next,
      path: 'audience.filter',
      scope: 'audience',
    });
    params.values.push(...filter.params);
    parts.push(filter.sql);
  }
  return parts.join('\n  AND ');
}

/** How a suppression rule finds the contact: its id and its unsubscribed flag, as SQL. */
export interface SuppressedContact {
  contactId: string;
  unsubscribed: string;
}

/**
 * Why a contact is left out, or NULL: the first rule that applies of unsubscribed, contacted by
 * any campaign in the last N days, and the frequency cap. Only contacted members count as
 * contacts; the holdout was never contacted.
 */
export function suppressionReason(
  suppression: Suppression,
  contact: SuppressedContact,
  params: SqlParams,
): string {
  const contactedSince = (days: number): string =>
    `FROM campaign_members r WHERE r.contact_id = ${contact.contactId} AND r.member_group = 'contacted'
       AND r.assigned_at > now() - make_interval(days => ${params.add(days)}::int)`;
  const rules: string[] = [];
  if (suppression.unsubscribed) rules.push(`WHEN ${contact.unsubscribed} THEN 'unsubscribed'`);
  if (suppression.recentlyContactedDays !== null)
    rules.push(`WHEN EXISTS (SELECT 1 ${contactedSince(suppression.recentlyContactedDays)}) THEN 'recent'`);
  if (suppression.frequencyCap !== null) {
    const { max, days } = suppression.frequencyCap;
    rules.push(`WHEN (SELECT count(*) ${contactedSince(days)}) >= ${params.add(max)}::int THEN 'capped'`);
  }
  return rules.length === 0 ? 'NULL::text' : `CASE ${rules.join(' ')} END`;
}

/**
 * Whether an account is held out of a campaign: a uniform draw in [0, 100) from a hash of the
 * campaign's random salt and the account id, below the holdout percent. Per account, so colleagues
 * are never split between groups, and stable, so an account keeps its group as the audience grows.
 */
export const heldOut = (accountId: string, salt: string, pct: string): string =>
  `(('x' || substr(md5(${salt} || ':' || ${accountId}::text), 1, 8))::bit(32)::bigint / 42949672.96 < ${pct})`;

/** The fields, features, traits and contact fields an audience filter may name, for the builder. */
export function audienceFieldList(): AudienceFieldList {
  return {
    fields: [...FILTER_FIELDS, ...CONTACT_FILTER_FIELDS].map((f) => ({
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
    contactTraits: {
      prefix: CONTACT_TRAIT_PREFIX,
      keyPattern: TRAIT_KEY.source,
      description: 'Contact traits as contact.trait.<key>, compared like account traits',
    },
  };
}
