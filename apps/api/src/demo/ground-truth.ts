import { DAY_MS, churnedAt, type DemoAccount, type DemoOptions } from './demo-model.js';

export const GROUND_TRUTH_COLUMNS = [
  'external_id',
  'tier',
  'proficiency',
  'graduated_on',
  'churned_at',
  'churn_date',
  'will_churn_90d',
  'churn_probability',
  'upsell_ready',
  'seat_utilisation',
  'support_penalty',
  'unresolved_share',
  'engagement',
  'onboarding_completed',
] as const;

/**
 * The hidden truth behind the demo data, so analytics can be scored against it: who is really an
 * expert, who churned or will churn within 90 days after the end, who is ready for an upsell.
 */
export function groundTruthCsv(accounts: DemoAccount[], options: DemoOptions): string {
  const start = options.end.getTime() - options.days * DAY_MS;
  const day = (d: number | null): string =>
    d === null ? '' : new Date(start + d * DAY_MS).toISOString().slice(0, 10);
  const lines = accounts.map((a) => {
    const churned = churnedAt(a, options);
    const future = a.churnDay !== null && a.churnDay > options.days ? a.churnDay : null;
    return [
      a.externalId,
      a.tier,
      a.proficiencyAtEnd,
      day(a.graduatedOnDay),
      churned ? churned.toISOString() : '',
      day(future),
      future !== null ? 'true' : 'false',
      a.churnProbability.toFixed(4),
      String(a.upsellReady),
      a.seatUtilisation.toFixed(3),
      a.supportPenalty.toFixed(3),
      a.unresolvedShare.toFixed(3),
      a.engagement.toFixed(3),
      String(a.onboardingCompleted),
    ].join(',');
  });
  return `${GROUND_TRUTH_COLUMNS.join(',')}\n${lines.join('\n')}\n`;
}
