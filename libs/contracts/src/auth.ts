import { z } from 'zod';

/**
 * Who may do what. A role is a fixed set of permissions; the API checks the permission a route
 * declares, the dashboard hides what the signed-in role may not use.
 */
export const ROLES = ['admin', 'cs_manager', 'account_manager', 'marketing', 'viewer'] as const;
export const RoleSchema = z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` });
export type Role = z.infer<typeof RoleSchema>;

export const PERMISSIONS = {
  /** Segment health, trends, support quality, runs: aggregates without contact details. */
  'dashboard:read': 'read dashboards (segment health, support quality, runs)',
  /** Account lists and account pages. Account managers see only the accounts they own. */
  'accounts:read': 'read accounts (account managers: their own)',
  /** Contacts' email addresses; without it they are masked (j***@example.com). */
  'contacts:email': 'see contact email addresses',
  /** Account lists as CSV (account managers: their own accounts). */
  'accounts:export': 'export account lists',
  /** Every account's scores as CSV, for a CRM or warehouse. */
  'scores:export': "export every account's scores",
  'segments:write': 'create, edit and delete custom segments',
  'campaigns:read': 'read campaigns and their outcomes',
  'campaigns:write': 'create, stop and refresh campaigns and their webhooks',
  /** A campaign's audience as CSV: names and emails leave Retain. */
  'audiences:export': 'export campaign audiences',
  'jobs:run': 'start analytics runs',
  /** The size tiers and the novice / expert cut-off the analytics job segments by. */
  'thresholds:edit': 'edit segment thresholds',
  /** Sources, write keys, imports, rejected items. */
  'data:manage': 'manage sources, write keys and imports',
  /** Users, roles, API tokens and the audit log. */
  'users:manage': 'manage users, roles, API tokens; read the audit log',
} as const;
export type Permission = keyof typeof PERMISSIONS;
export const PermissionSchema = z.enum(Object.keys(PERMISSIONS) as [Permission, ...Permission[]]);

const ALL = Object.keys(PERMISSIONS) as Permission[];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: ALL,
  cs_manager: [
    'dashboard:read',
    'accounts:read',
    'contacts:email',
    'accounts:export',
    'scores:export',
    'segments:write',
    'campaigns:read',
    'jobs:run',
    'thresholds:edit',
  ],
  account_manager: ['dashboard:read', 'accounts:read', 'contacts:email', 'accounts:export'],
  marketing: [
    'dashboard:read',
    'accounts:read',
    'contacts:email',
    'segments:write',
    'campaigns:read',
    'campaigns:write',
    'audiences:export',
  ],
  viewer: ['dashboard:read', 'accounts:read', 'campaigns:read'],
};

export const ROLE_LABELS: Readonly<Record<Role, string>> = {
  admin: 'Admin',
  cs_manager: 'CS manager',
  account_manager: 'Account manager',
  marketing: 'Marketing',
  viewer: 'Viewer',
};

export const hasPermission = (role: Role, permission: Permission): boolean =>
  ROLE_PERMISSIONS[role].includes(permission);

const email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, 'expected at most 254 characters')
  .pipe(z.email({ error: 'expected an email address' }));

export const LoginRequestSchema = z
  .object({
    email,
    password: z.string().min(1, 'expected a password').max(1024, 'expected at most 1024 characters'),
  })
  .strict()
  .meta({ id: 'LoginRequest' });
export type LoginRequest = z.infer<typeof LoginRequestSchema>;

export const UserSchema = z
  .object({
    id: z.number().int(),
    email: z.string(),
    role: RoleSchema,
    createdAt: z.string(),
    lastLoginAt: z.string().nullable(),
    disabledAt: z.string().nullable(),
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof UserSchema>;

/** Who is signed in, what they may do, and the token cookie-authenticated writes must echo. */
export const SessionSchema = z
  .object({
    user: UserSchema.pick({ id: true, email: true, role: true }),
    permissions: z.array(PermissionSchema),
    /** Sent back as the X-CSRF-Token header on every write made with the session cookie. */
    csrfToken: z.string(),
    expiresAt: z.string(),
  })
  .meta({ id: 'Session' });
export type Session = z.infer<typeof SessionSchema>;

export const UserListSchema = z.object({ users: z.array(UserSchema) }).meta({ id: 'UserList' });
export type UserList = z.infer<typeof UserListSchema>;

export const CreateUserRequestSchema = z
  .object({ email, role: RoleSchema })
  .strict()
  .meta({ id: 'CreateUserRequest' });
export type CreateUserRequest = z.infer<typeof CreateUserRequestSchema>;

/** A new user, or a reset password: the password is shown in this answer only. */
export const CreatedUserSchema = UserSchema.extend({ password: z.string() }).meta({ id: 'CreatedUser' });
export type CreatedUser = z.infer<typeof CreatedUserSchema>;

export const UpdateUserRequestSchema = z
  .object({ role: RoleSchema.optional(), disabled: z.boolean().optional() })
  .strict()
  .refine((body) => body.role !== undefined || body.disabled !== undefined, {
    error: 'expected role or disabled',
  })
  .meta({ id: 'UpdateUserRequest' });
export type UpdateUserRequest = z.infer<typeof UpdateUserRequestSchema>;

export const UserIdParamSchema = z.object({
  id: z.coerce
    .number({ error: 'expected a user id' })
    .int('expected a user id')
    .positive('expected a user id'),
});
export type UserIdParam = z.infer<typeof UserIdParamSchema>;

export const ApiTokenSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    role: RoleSchema,
    /** The first characters, to tell tokens apart; the token itself is stored only as a hash. */
    prefix: z.string(),
    createdAt: z.string(),
    createdBy: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiToken' });
export type ApiToken = z.infer<typeof ApiTokenSchema>;

export const ApiTokenListSchema = z.object({ tokens: z.array(ApiTokenSchema) }).meta({ id: 'ApiTokenList' });
export type ApiTokenList = z.infer<typeof ApiTokenListSchema>;

export const CreateApiTokenRequestSchema = z
  .object({
    name: z.string().trim().min(1, 'expected a name').max(100, 'expected at most 100 characters'),
    role: RoleSchema,
    /** For the account_manager role: the account owner the token acts for (required then). */
    ownerEmail: email.optional(),
  })
  .strict()
  .meta({ id: 'CreateApiTokenRequest' });
export type CreateApiTokenRequest = z.infer<typeof CreateApiTokenRequestSchema>;

export const CreatedApiTokenSchema = ApiTokenSchema.extend({ token: z.string() }).meta({
  id: 'CreatedApiToken',
});
export type CreatedApiToken = z.infer<typeof CreatedApiTokenSchema>;

export const TokenIdParamSchema = z.object({
  id: z.coerce
    .number({ error: 'expected a token id' })
    .int('expected a token id')
    .positive('expected a token id'),
});
export type TokenIdParam = z.infer<typeof TokenIdParamSchema>;

export const AUDIT_ACTIONS = [
  'login.succeeded',
  'login.failed',
  'login.limited',
  'logout',
  'user.created',
  'user.role_changed',
  'user.disabled',
  'user.enabled',
  'user.password_reset',
  'token.created',
  'token.revoked',
  'source.created',
  'source.revoked',
  'export.accounts',
  'export.scores',
  'export.audience',
  'campaign.webhook_secret',
  'settings.thresholds_changed',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AuditEntrySchema = z
  .object({
    id: z.number().int(),
    at: z.string(),
    /** user:ID, token:ID or cli */
    actor: z.string(),
    actorLabel: z.string().nullable(),
    action: z.enum(AUDIT_ACTIONS),
    target: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    ip: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AuditLogQuerySchema = z
  .object({
    action: z.enum(AUDIT_ACTIONS).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    /** Entries older than this id (the last id of the previous page). */
    before: z.coerce.number().int().positive().optional(),
  })
  .strict();
export type AuditLogQuery = z.infer<typeof AuditLogQuerySchema>;

export const AuditLogPageSchema = z
  .object({ entries: z.array(AuditEntrySchema), nextBefore: z.number().int().nullable() })
  .meta({ id: 'AuditLogPage' });
export type AuditLogPage = z.infer<typeof AuditLogPageSchema>;
