import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ROLE_PERMISSIONS,
  type ApiToken,
  type AuditAction,
  type AuditLogPage,
  type AuditLogQuery,
  type CreatedApiToken,
  type CreatedUser,
  type Role,
  type Session,
  type UpdateUserRequest,
  type User,
} from '@retain/contracts';
import { parse as parseCookies } from 'cookie';
import type { Request } from 'express';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { clientIp, type Principal } from './access.js';
import { AuthRepository, type UserRow } from './auth.repository.js';
import { LoginLimiter } from './login-limiter.js';
import {
  burnPasswordCheck,
  generatePassword,
  hashPassword,
  newSecret,
  sha256,
  verifyPassword,
} from './secrets.js';

export const SESSION_COOKIE = 'retain_session';
export const CSRF_COOKIE = 'retain_csrf';
export const CSRF_HEADER = 'x-csrf-token';
export const TOKEN_PREFIX = 'rt_';

/** How long a looked-up session or token is trusted in this process; a revocation elsewhere waits this long. */
const CACHE_MS = 5_000;
const CACHE_MAX = 10_000;
/** Sessions' and tokens' last-use times are written at most this often. */
const TOUCH_MS = 60_000;

/** Someone acting outside HTTP: the command line, or start-up from configuration. */
export interface Actor {
  actor: string;
  label: string | null;
  ip?: string | null;
}
export const CLI_ACTOR: Actor = { actor: 'cli', label: 'command line' };
export const actorOf = (principal: Principal, ip: string | null): Actor => ({
  actor: principal.actor,
  label: principal.label,
  ip,
});

export interface SignIn {
  /** The cookie's value; only its hash is stored. */
  secret: string;
  session: Session;
}

/** The demo's people: one per role, the account manager owning some of the demo's accounts. */
export const DEMO_USERS: readonly { email: string; role: Role }[] = [
  { email: 'admin@retain.example', role: 'admin' },
  { email: 'cs.manager@retain.example', role: 'cs_manager' },
  { email: 'ava.morgan@retain.example', role: 'account_manager' },
  { email: 'marketing@retain.example', role: 'marketing' },
  { email: 'viewer@retain.example', role: 'viewer' },
];

function publicUser(row: UserRow): User {
  const { passwordHash: _hash, ...user } = row;
  return user;
}

function publicToken(token: ApiToken & { ownerEmail: string | null }): ApiToken {
  const { ownerEmail: _owner, ...rest } = token;
  return rest;
}

/**
 * Sign-in, sessions, API tokens, users and the audit log. Passwords are argon2id hashes; session
 * cookies and API tokens are 256-bit random secrets stored as SHA-256 hashes.
 */
@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');
  private readonly limiter: LoginLimiter;
  private readonly cache = new Map<string, { principal: Principal | null; expires: number }>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly repository: AuthRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.limiter = new LoginLimiter(config.auth.loginMaxFailures);
  }

  // --- requests ----------------------------------------------------------------------------------

  /**
   * The caller of a request: an `Authorization: Bearer` API token, else the session cookie. Null
   * when neither is sent; a token or cookie that is sent but not valid is a 401.
   */
  async authenticate(req: Request): Promise<Principal | null> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match) throw new AppException(ErrorCode.Unauthorized, 'Authorization must be "Bearer TOKEN"');
      const principal = await this.tokenPrincipal(match[1]!);
      if (!principal)
        throw new AppException(ErrorCode.Unauthorized, 'The API token is not valid or was revoked');
      return principal;
    }
    const secret = parseCookies(req.headers.cookie ?? '')[SESSION_COOKIE];
    if (!secret) return null;
    const principal = await this.sessionPrincipal(secret);
    if (!principal) throw new AppException(ErrorCode.Unauthorized, 'The session has ended; sign in again');
    return principal;
  }

  private async cached(key: string, load: () => Promise<Principal | null>): Promise<Principal | null> {
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.expires > now && (!hit.principal?.expiresAt || hit.principal.expiresAt.getTime() > now))
      return hit.principal;
    const principal = await load();
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(key, { principal, expires: now + CACHE_MS });
    return principal;
  }

  private shouldTouch(key: string): boolean {
    const now = Date.now();
    if ((this.touched.get(key) ?? 0) + TOUCH_MS > now) return false;
    if (this.touched.size >= CACHE_MAX) this.touched.clear();
    this.touched.set(key, now);
    return true;
  }

  private async tokenPrincipal(token: string): Promise<Principal | null> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
    const hash = sha256(token);
    const principal = await this.cached(`t:${hash}`, async () => {
      const row = await this.repository.findActiveToken(hash);
      if (!row) return null;
      return {
        kind: 'token',
        actor: `token:${row.id}`,
        label: row.name,
        role: row.role,
        accountScope: row.role === 'account_manager' ? (row.ownerEmail ?? '') : null,
      } satisfies Principal;
    });
    if (principal && this.shouldTouch(hash))
      void this.repository.touchToken(Number(principal.actor.slice(6))).catch(() => undefined);
    return principal;
  }

  private async sessionPrincipal(secret: string): Promise<Principal | null> {
    if (secret.length > 200) return null;
    const hash = sha256(secret);
    const principal = await this.cached(`s:${hash}`, async () => {
      const row = await this.repository.findSession(hash);
      if (!row) return null;
      return {
        kind: 'session',
        actor: `user:${row.userId}`,
        label: row.email,
        role: row.role,
        accountScope: row.role === 'account_manager' ? row.email : null,
        csrfToken: row.csrfToken,
        expiresAt: row.expiresAt,
        userId: row.userId,
      } satisfies Principal;
    });
    if (principal && this.shouldTouch(hash))
      void this.repository
        .touchSession(hash, this.config.auth.sessionIdleMinutes, this.config.auth.sessionMaxHours * 60)
        .catch(() => undefined);
    return principal;
  }

  /** Forgets every cached lookup: after a sign-out, revocation or role change. */
  private forget(): void {
    this.cache.clear();
  }

  // --- sign-in -----------------------------------------------------------------------------------

  async login(email: string, password: string, req: Request): Promise<SignIn> {
    const ip = clientIp(req) ?? 'unknown';
    const wait = await this.limiter.blockedFor(ip, email);
    if (wait > 0) {
      await this.audit({ actor: 'anonymous', label: email, ip }, 'login.limited', `user:${email}`);
      throw new AppException(
        ErrorCode.TooManyRequests,
        `Too many failed sign-ins; try again in ${Math.ceil(wait / 60)} minute(s)`,
        { retryAfterSeconds: wait },
      );
    }
    const user = await this.repository.findUserByEmail(email);
    const ok = user
      ? await verifyPassword(user.passwordHash, password)
      : (await burnPasswordCheck(password), false);
    if (!user || !ok || user.disabledAt) {
      await this.limiter.failed(ip, email);
      await this.audit(
        { actor: 'anonymous', label: email, ip },
        'login.failed',
        user ? `user:${user.id}` : null,
        {
          reason: !user ? 'unknown email' : !ok ? 'wrong password' : 'disabled',
        },
      );
      // One message for every cause: the answer never tells which emails have accounts.
      throw new AppException(ErrorCode.Unauthorized, 'Wrong email or password');
    }
    await this.limiter.succeeded(ip, email);
    const secret = newSecret();
    const csrfToken = newSecret();
    const expiresAt = await this.repository.createSession(
      sha256(secret),
      user.id,
      csrfToken,
      this.config.auth.sessionIdleMinutes,
      ip,
      req.headers['user-agent'] ?? null,
    );
    await this.audit(
      { actor: `user:${user.id}`, label: user.email, ip },
      'login.succeeded',
      `user:${user.id}`,
    );
    return {
      secret,
      session: {
        user: { id: user.id, email: user.email, role: user.role },
        permissions: [...ROLE_PERMISSIONS[user.role]],
        csrfToken,
        expiresAt: expiresAt.toISOString(),
      },
    };
  }

  async logout(req: Request, principal: Principal): Promise<void> {
    const secret = parseCookies(req.headers.cookie ?? '')[SESSION_COOKIE];
    if (principal.kind !== 'session' || !secret) return;
    await this.repository.deleteSession(sha256(secret));
    this.forget();
    await this.audit(actorOf(principal, clientIp(req)), 'logout', principal.actor);
  }

  session(principal: Principal): Session {
    return {
      user: { id: principal.userId ?? 0, email: principal.label, role: principal.role },
      permissions: [...ROLE_PERMISSIONS[principal.role]],
      csrfToken: principal.csrfToken ?? '',
      expiresAt: (principal.expiresAt ?? new Date(Date.now() + 3_600_000)).toISOString(),
    };
  }

  // --- users ---------------------------------------------------------------------------------------

  async listUsers(): Promise<User[]> {
    return (await this.repository.listUsers()).map(publicUser);
  }

  /** Creates a user with a generated password (shown once), or `password` when configuration gives one. */
  async createUser(
    email: string,
    role: Role,
    by: Actor,
    password = generatePassword(),
  ): Promise<CreatedUser> {
    const row = await this.repository.createUser(email, role, await hashPassword(password));
    if (!row)
      throw new AppException(ErrorCode.Conflict, `A user with the email ${email} exists already`, {
        fields: [{ path: 'email', message: 'taken' }],
      });
    await this.audit(by, 'user.created', `user:${row.id}`, { email: row.email, role });
    return { ...publicUser(row), password };
  }

  async updateUser(id: number, change: UpdateUserRequest, by: Actor): Promise<User> {
    const before = await this.repository.findUser(id);
    if (!before) throw new AppException(ErrorCode.NotFound, `User ${id} does not exist`);
    const losesAdmin =
      before.role === 'admin' &&
      before.disabledAt === null &&
      ((change.role !== undefined && change.role !== 'admin') || change.disabled === true);
    if (losesAdmin && (await this.repository.otherActiveAdmins(id)) === 0)
      throw new AppException(ErrorCode.Conflict, 'This is the last active admin; make another admin first');
    const after = (await this.repository.updateUser(id, change))!;
    if (change.disabled === true || (change.role && change.role !== before.role))
      await this.repository.deleteUserSessions(id);
    this.forget();
    if (change.role && change.role !== before.role)
      await this.audit(by, 'user.role_changed', `user:${id}`, {
        email: after.email,
        from: before.role,
        to: after.role,
      });
    if (change.disabled !== undefined && change.disabled !== (before.disabledAt !== null))
      await this.audit(by, change.disabled ? 'user.disabled' : 'user.enabled', `user:${id}`, {
        email: after.email,
      });
    return publicUser(after);
  }

  async findUserByEmail(email: string): Promise<User | null> {
    const row = await this.repository.findUserByEmail(email);
    return row ? publicUser(row) : null;
  }

  /** A new generated password (shown once); the user's sessions end. */
  async resetPassword(id: number, by: Actor): Promise<CreatedUser> {
    const password = generatePassword();
    const row = await this.repository.updateUser(id, { passwordHash: await hashPassword(password) });
    if (!row) throw new AppException(ErrorCode.NotFound, `User ${id} does not exist`);
    await this.repository.deleteUserSessions(id);
    this.forget();
    await this.audit(by, 'user.password_reset', `user:${id}`, { email: row.email });
    return { ...publicUser(row), password };
  }

  // --- API tokens ----------------------------------------------------------------------------------

  async createToken(
    name: string,
    role: Role,
    ownerEmail: string | null,
    by: Actor,
  ): Promise<CreatedApiToken> {
    if (role === 'account_manager' && !ownerEmail)
      throw new AppException(
        ErrorCode.ValidationFailed,
        'An account_manager token needs the owner email it acts for',
        {
          fields: [{ path: 'ownerEmail', message: 'required for the account_manager role' }],
        },
      );
    const token = newSecret(TOKEN_PREFIX);
    const row = await this.repository.createToken(
      name,
      role,
      sha256(token),
      token.slice(0, 8),
      role === 'account_manager' ? ownerEmail!.toLowerCase() : null,
      by.label,
    );
    await this.audit(by, 'token.created', `token:${row.id}`, { name, role });
    return { ...publicToken(row), token };
  }

  async listTokens(): Promise<ApiToken[]> {
    return (await this.repository.listTokens()).map(publicToken);
  }

  async revokeToken(id: number, by: Actor): Promise<ApiToken> {
    const row = await this.repository.revokeToken(id);
    if (!row) throw new AppException(ErrorCode.NotFound, `API token ${id} does not exist`);
    this.forget();
    await this.audit(by, 'token.revoked', `token:${id}`, { name: row.name });
    return publicToken(row);
  }

  // --- audit ---------------------------------------------------------------------------------------

  async audit(
    by: Actor,
    action: AuditAction,
    target: string | null = null,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await this.repository.audit({
      actor: by.actor,
      actorLabel: by.label,
      action,
      target,
      details,
      ip: by.ip ?? null,
    });
  }

  async auditLog(query: AuditLogQuery): Promise<AuditLogPage> {
    const entries = await this.repository.auditLog(query);
    return {
      entries,
      nextBefore: entries.length === query.limit ? entries[entries.length - 1]!.id : null,
    };
  }

  // --- start-up ------------------------------------------------------------------------------------

  /**
   * The first users. ADMIN_EMAIL (with ADMIN_PASSWORD, or a generated one that is printed) makes
   * sure that admin exists. With demo data and no users yet, one user per role is created with one
   * generated password, printed once. Otherwise, with no users, says how to create the first.
   */
  async bootstrap(demo: boolean): Promise<void> {
    const { adminEmail, adminPassword } = this.config.auth;
    const from: Actor = { actor: 'config', label: 'start-up configuration' };
    if (adminEmail && !(await this.repository.findUserByEmail(adminEmail))) {
      const created = await this.createUser(adminEmail, 'admin', from, adminPassword ?? generatePassword());
      this.logger.log(
        adminPassword
          ? `Created the admin ${created.email} from ADMIN_EMAIL and ADMIN_PASSWORD.`
          : `Created the admin ${created.email}; password (shown once): ${created.password}`,
      );
    }
    if ((await this.repository.userCount()) > 0) return;
    if (!demo) {
      this.logger.warn(
        'No users yet: create the first admin with `npm run cli -- user:create you@example.com --role admin`, ' +
          'or set ADMIN_EMAIL (and ADMIN_PASSWORD) and restart.',
      );
      return;
    }
    const password = generatePassword();
    for (const user of DEMO_USERS) await this.createUser(user.email, user.role, from, password);
    this.logger.log(
      `Demo sign-in (shown once): ${DEMO_USERS.map((u) => `${u.email} (${u.role})`).join(', ')}; ` +
        `password for each: ${password}`,
    );
  }
}
