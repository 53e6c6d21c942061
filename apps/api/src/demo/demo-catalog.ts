/** The vocabulary of the demo product: a B2B SaaS reporting and automation tool. */

export const ONBOARDING_STEPS = [
  'account_created',
  'profile_completed',
  'teammate_invited',
  'api_key_created',
  'integration_connected',
  'onboarding_completed',
] as const;

export const BASIC_FEATURES = [
  'dashboard_viewed',
  'report_viewed',
  'report_created',
  'record_created',
  'record_updated',
  'search_performed',
  'csv_exported',
  'comment_added',
] as const;

export const ADVANCED_FEATURES = [
  'automation_created',
  'api_call_made',
  'custom_field_created',
  'sql_query_run',
  'webhook_configured',
  'bulk_edit_applied',
  'workflow_published',
] as const;

/** Self-serve help: knowledge-base articles (page events) and in-app guides. */
export const KB_ARTICLES = [
  'getting-started',
  'invite-your-team',
  'create-your-first-report',
  'connect-an-integration',
  'import-a-csv',
  'build-a-dashboard',
  'set-up-sso',
  'automations-101',
] as const;
export const KB_PAGE = 'Help Center Article';
export const GUIDE_EVENTS = ['guide_opened', 'checklist_viewed'] as const;

export const UPSELL_EVENTS = {
  limit: 'plan_limit_reached',
  seat: 'seat_added',
  addon: 'addon_page_viewed',
} as const;
export const ADDONS = ['advanced-automation', 'sso-security', 'data-warehouse-sync'] as const;

export const REGIONS = { NA: 0.45, EMEA: 0.33, APAC: 0.15, LATAM: 0.07 } as const;
export const INDUSTRIES = [
  'software',
  'retail',
  'finance',
  'healthcare',
  'education',
  'manufacturing',
  'media',
  'logistics',
] as const;

export const ACCOUNT_MANAGERS = [
  'ava.morgan@retain.example',
  'ben.okafor@retain.example',
  'chloe.nguyen@retain.example',
  'diego.ramos@retain.example',
  'emma.schulz@retain.example',
  'farid.haddad@retain.example',
] as const;

const NAME_HEADS = [
  'Acme',
  'Blue',
  'North',
  'Bright',
  'Cedar',
  'Delta',
  'Echo',
  'Falcon',
  'Granite',
  'Harbor',
  'Iris',
  'Juniper',
  'Kite',
  'Lumen',
  'Maple',
  'Nova',
  'Orbit',
  'Pine',
  'Quartz',
  'River',
  'Summit',
  'Tidal',
  'Umber',
  'Vista',
  'Willow',
  'Zenith',
];
const NAME_TAILS = [
  'Analytics',
  'Labs',
  'Logistics',
  'Health',
  'Retail',
  'Systems',
  'Foods',
  'Media',
  'Capital',
  'Works',
  'Studio',
  'Partners',
  'Cloud',
  'Robotics',
  'Energy',
  'Learning',
];
const SUFFIXES = ['Inc', 'Ltd', 'GmbH', 'LLC', 'Co', 'SA', 'BV', 'Pty'];
export const companyName = (i: number): string =>
  `${NAME_HEADS[i % NAME_HEADS.length]} ${NAME_TAILS[Math.floor(i / NAME_HEADS.length) % NAME_TAILS.length]} ${SUFFIXES[Math.floor(i / (NAME_HEADS.length * NAME_TAILS.length)) % SUFFIXES.length]}`;

export const FIRST_NAMES = [
  'Alex',
  'Sam',
  'Jordan',
  'Taylor',
  'Maria',
  'Wei',
  'Priya',
  'Lucas',
  'Noah',
  'Olivia',
  'Yuki',
  'Omar',
  'Sofia',
  'Liam',
  'Amara',
  'Ivan',
  'Lea',
  'Mateo',
  'Zara',
  'Kofi',
];
export const LAST_NAMES = [
  'Smith',
  'Garcia',
  'Chen',
  'Patel',
  'Müller',
  'Rossi',
  'Kim',
  'Silva',
  'Novak',
  'Dubois',
  'Okoro',
  'Tanaka',
  'Larsen',
  'Haddad',
  'Cohen',
  'Walsh',
];
export const CONTACT_ROLES = { admin: 0.15, manager: 0.25, analyst: 0.35, engineer: 0.25 } as const;

export type TicketKind = 'how_to' | 'bug' | 'billing' | 'feature_request' | 'account';
export const TICKET_SUBJECTS: Record<TicketKind, readonly string[]> = {
  how_to: [
    'How do I invite my team?',
    'How do I create a report?',
    'How do I connect Salesforce?',
    'How do I import a CSV?',
    'How do I set up a dashboard?',
    'How do I change my password?',
    'How do I schedule an export?',
  ],
  bug: [
    'Dashboard does not load',
    'Export fails with an error',
    'Automation did not trigger',
    'API returns 500',
    'Charts show wrong totals',
  ],
  billing: [
    'Question about my invoice',
    'Charged twice this month',
    'Update billing address',
    'Switch to annual billing',
  ],
  feature_request: [
    'Please add dark mode',
    'Request: more chart types',
    'Can we get SSO on our plan?',
    'Feature idea: Slack alerts',
  ],
  account: ['Remove a former employee', 'Transfer account ownership', 'Cannot log in', 'Need more seats'],
};
export const TICKET_TAGS: Record<TicketKind, string> = {
  how_to: 'how-to',
  bug: 'bug',
  billing: 'billing',
  feature_request: 'feature-request',
  account: 'account',
};

export const POSITIVE_COMMENTS = [
  'Quick and friendly help, thank you!',
  'Solved in minutes. Great support.',
  'Clear answer, exactly what I needed.',
  'The agent walked me through it step by step.',
  'Fast reply and the fix works.',
];
export const NEGATIVE_SLOW_COMMENTS = [
  'Took far too long to get a reply.',
  'Waited hours for a first answer.',
  'Slow response, we were blocked all day.',
];
export const NEGATIVE_UNSOLVED_COMMENTS = [
  'Still not fixed.',
  'The answer did not solve my problem.',
  'Had to explain the issue three times.',
  'Closed without a real solution.',
];
