import {
  CONTACT_FIELD_PREFIX,
  CONTACT_TRAIT_PREFIX,
  type CampaignChannel,
  type CampaignGoal,
  type CampaignSchedule,
  type FilterNode,
  type FilterOp,
  type Suppression,
} from '@retain/contracts';
import { featureLabel, formatCount, plural, segmentLabel } from '$lib/format';

/** Campaign words as a marketer reads them, shared by the list, the builder and the campaign page. */

export const CHANNEL_LABELS: Record<CampaignChannel, string> = {
  email_export: 'Email list (CSV export)',
  in_app: 'In-app message',
  webhook: 'Webhook',
};

export const SCHEDULE_LABELS: Record<CampaignSchedule, string> = {
  once: 'Once: the audience as it is now',
  refresh: 'Refresh at every analytics run: new matches join',
};

export const SCHEDULE_SHORT: Record<CampaignSchedule, string> = {
  once: 'Once',
  refresh: 'Refreshing',
};

/** "plan_upgraded within 30 days" */
export const goalLabel = (goal: CampaignGoal): string =>
  `${goal.event} within ${plural(goal.windowDays, 'day')}`;

/** A segment key of an audience: a base segment's name, or a custom segment's name when known. */
export function audienceSegmentLabel(key: string, customNames: ReadonlyMap<string, string>): string {
  if (/^\d+$/.test(key)) return customNames.get(key) ?? `Custom segment #${key}`;
  return segmentLabel(key);
}

const FIELD_LABELS: Record<string, string> = {
  external_id: 'Account id',
  name: 'Account name',
  mrr: 'MRR',
  created_at: 'Account created',
  churned_at: 'Churned at',
  renewal_date: 'Renewal date',
  proficiency_score: 'Proficiency score',
  churn_risk: 'Churn risk',
  upsell_score: 'Upsell score',
  segment: 'Base segment',
  activity_vs_baseline_7d: 'Activity vs 2 months ago (7 d)',
  activity_vs_baseline_30d: 'Activity vs 2 months ago (30 d)',
  activity_drop_7d: 'Activity drop (7 d)',
  activity_drop_30d: 'Activity drop (30 d)',
  'contact.email': 'Email',
  'contact.email_domain': 'Email domain',
  'contact.name': 'Contact name',
  'contact.role': 'Role',
  'contact.created_at': 'Contact first seen',
  'contact.last_seen_at': 'Contact last seen',
  'contact.days_since_last_seen': 'Days since contact last seen',
};

/** A filter field (mrr, contact.role, trait.industry) as a label. */
export function fieldLabel(field: string): string {
  const known = FIELD_LABELS[field];
  if (known) return known;
  if (field.startsWith(CONTACT_TRAIT_PREFIX))
    return `Contact trait “${field.slice(CONTACT_TRAIT_PREFIX.length)}”`;
  if (field.startsWith('trait.')) return `Account trait “${field.slice('trait.'.length)}”`;
  if (field.startsWith(CONTACT_FIELD_PREFIX)) return featureLabel(field.slice(CONTACT_FIELD_PREFIX.length));
  return featureLabel(field);
}

/** How an operator reads after a field, for text and numbers ("is at least") or times ("is on or after"). */
export function opLabel(op: FilterOp, timeLike = false): string {
  const labels: Record<FilterOp, string> = {
    eq: 'is',
    neq: 'is not',
    gt: timeLike ? 'is after' : 'is more than',
    gte: timeLike ? 'is on or after' : 'is at least',
    lt: timeLike ? 'is before' : 'is less than',
    lte: timeLike ? 'is on or before' : 'is at most',
    between: 'is between',
    in: 'is one of',
    not_in: 'is none of',
    contains: 'contains',
    starts_with: 'starts with',
    is_null: 'is empty',
    is_not_null: 'is set',
  };
  return labels[op];
}

const valueText = (value: unknown): string => {
  if (Array.isArray(value)) return value.map(valueText).join(', ');
  if (typeof value === 'string')
    return /^\d{4}-\d{2}-\d{2}T00:00:00(\.000)?Z$/.test(value) ? value.slice(0, 10) : value;
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
};

/** A stored filter in words: "Plan is starter and (Role is admin or Role is owner)". */
export function describeFilter(node: FilterNode, nested = false): string {
  if ('all' in node || 'any' in node) {
    const children = 'all' in node ? node.all : node.any;
    if (children.length === 0) return 'all' in node ? 'everyone' : 'no one';
    const text = children.map((child) => describeFilter(child, true)).join('all' in node ? ' and ' : ' or ');
    return nested && children.length > 1 ? `(${text})` : text;
  }
  if ('not' in node) return `not ${describeFilter(node.not, true)}`;
  const timeLike = /(_at|_date)$/.test(node.field);
  const op = opLabel(node.op, timeLike);
  if (node.op === 'is_null' || node.op === 'is_not_null') return `${fieldLabel(node.field)} ${op}`;
  if (node.op === 'between' && Array.isArray(node.value))
    return `${fieldLabel(node.field)} ${op} ${valueText(node.value[0])} and ${valueText(node.value[1])}`;
  return `${fieldLabel(node.field)} ${op} ${valueText(node.value)}`;
}

/** The suppression rules in words. */
export function describeSuppression(suppression: Suppression): string {
  const rules = [
    suppression.unsubscribed ? 'unsubscribed contacts' : null,
    suppression.recentlyContactedDays !== null
      ? `contacted by any campaign in the last ${plural(suppression.recentlyContactedDays, 'day')}`
      : null,
    suppression.frequencyCap !== null
      ? `contacted ${formatCount(suppression.frequencyCap.max)}+ times in ${plural(suppression.frequencyCap.days, 'day')}`
      : null,
  ].filter((rule): rule is string => rule !== null);
  return rules.length ? `Leaves out ${rules.join('; ')}` : 'None: everyone in the audience can be contacted';
}
