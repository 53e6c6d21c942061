/**
 * The product's vocabulary: which event names (and ticket tags) mean what to the analytics SQL.
 * It fills the DuckDB `catalog (kind, name)` table; users can replace it for their own product.
 */

export const CATALOG_KINDS = [
  /** The onboarding checklist steps, in order (completion = share of them ever done). */
  'onboarding_step',
  /** The step that marks time-to-value (days from sign-up to its first occurrence). */
  'activation_step',
  /** Features that mark depth of use (proficiency). */
  'advanced_feature',
  /** Page names of knowledge-base views. */
  'help_page',
  /** In-app guide events. */
  'guide',
  /** The account hit a limit of its plan (upsell signal). */
  'plan_limit',
  /** A seat was added (upsell signal). */
  'seat_added',
  /** Interest in an add-on or a higher plan (upsell signal). */
  'addon_interest',
  /** Ticket tags meaning "how do I ..." (proficiency). */
  'howto_tag',
] as const;

export type CatalogKind = (typeof CATALOG_KINDS)[number];

export interface CatalogEntry {
  kind: CatalogKind;
  name: string;
}

export function isCatalogKind(value: string): value is CatalogKind {
  return (CATALOG_KINDS as readonly string[]).includes(value);
}

const entries = (kind: CatalogKind, names: readonly string[]): CatalogEntry[] =>
  names.map((name) => ({ kind, name }));

/**
 * The defaults, matching the demo product (apps/api/src/demo/demo-catalog.ts). Onboarding steps
 * are listed in checklist order; connecting the first integration is the activation step (the
 * moment the product starts doing real work for the account).
 */
export const DEFAULT_CATALOG: CatalogEntry[] = [
  ...entries('onboarding_step', [
    'account_created',
    'profile_completed',
    'teammate_invited',
    'api_key_created',
    'integration_connected',
    'onboarding_completed',
  ]),
  ...entries('activation_step', ['integration_connected']),
  ...entries('advanced_feature', [
    'automation_created',
    'api_call_made',
    'custom_field_created',
    'sql_query_run',
    'webhook_configured',
    'bulk_edit_applied',
    'workflow_published',
  ]),
  ...entries('help_page', ['Help Center Article']),
  ...entries('guide', ['guide_opened', 'checklist_viewed']),
  ...entries('plan_limit', ['plan_limit_reached']),
  ...entries('seat_added', ['seat_added']),
  ...entries('addon_interest', ['addon_page_viewed']),
  ...entries('howto_tag', ['how-to']),
];
