import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import type { ApiToken, AuditAction, AuditEntry, AuditLogQuery, Role, User } from '@retain/contracts';
import { PG_POOL } from '../database/pg-pool.module.js';

export interface UserRow extends User {
  passwordHash: string;
}

export interface SessionRow {
  userId: number;
  email: string;
  role: Role;
  csrfToken: string;
  expiresAt: Date;
}

export interface TokenRow {
  id: number;
  name: string;
  role: Role;
  ownerEmail: string | null;
}

export interface AuditRecord {
  actor: string;
  actorLabel: string | null;
  action: AuditAction;
  target?: string | null;
  details?: Record<string, unknown>;
  ip?: string | null;
}

const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);

const USER_COLUMNS = `id::int, email, role, password_hash, created_at, last_login_at, disabled_at`;
function toUser(row: Record<string, unknown>): UserRow {
  return {
    id: row.id as number,
    email: row.email as string,
    role: row.role as Role,
    passwordHash: row.password_hash as string,
    createdAt: (row.created_at as Date).toISOString(),
    lastLoginAt: iso(row.last_login_at as Date | null),
    disabledAt: iso(row.disabled_at as Date | null),
  };
}

const TOKEN_COLUMNS = `id::int, name, role, prefix, owner_email, created_at, created_by, last_used_at, revoked_at`;
function toToken(row: Record<string, unknown>): ApiToken & { ownerEmail: string | null } {
  return {
    id: row.id as number,
    name: row.name as string,
    role: row.role as Role,
    prefix: row.prefix as string,
    ownerEmail: row.owner_email as string | null,
    createdAt: (row.created_at as Date).toISOString(),
    createdBy: row.created_by as string | null,
    lastUsedAt: iso(row.last_used_at as Date | null),
    revokedAt: iso(row.revoked_at as Date | null),
  };
}

/** Users, sessions, API tokens and the audit log, in plain SQL on the shared pool. */
@Injectable()
export class AuthRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  // --- users -----------------------------------------------------------------------------------

  async userCount(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM users`);
    return rows[0]!.n;
  }

  async listUsers(): Promise<UserRow[]> {
    const { rows } = await this.pool.query(`SELECT ${USER_COLUMNS} FROM users ORDER BY id`);
    return rows.map(toUser);
  }

  async findUserByEmail(email: string): Promise<UserRow | null> {
    const { rows } = await this.pool.query(`SELECT ${USER_COLUMNS} FROM users WHERE email = $1`, [
      email.toLowerCase(),
    ]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async findUser(id: number): Promise<UserRow | null> {
    const { rows } = await this.pool.query(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  /** Null when the email is taken. */
  async createUser(email: string, role: Role, passwordHash: string): Promise<UserRow | null> {
    const { rows } = await this.pool.query(
      `INSERT INTO users (email, role, password_hash) VALUES ($1, $2, $3)
       ON CONFLICT (email) DO NOTHING RETURNING ${USER_COLUMNS}`,
      [email.toLowerCase(), role, passwordHash],
    );
    return rows[0] ? toUser(rows[0]) : null;
  }

  async updateUser(
    id: number,
    change: { role?: Role; disabled?: boolean; passwordHash?: string },
  ): Promise<UserRow | null> {
    const { rows } = await this.pool.query(
      `UPDATE users SET
         role = coalesce($2, role),
         disabled_at = CASE WHEN $3::boolean IS NULL THEN disabled_at
                            WHEN $3 THEN coalesce(disabled_at, now()) ELSE NULL END,
         password_hash = coalesce($4, password_hash)
       WHERE id = $1 RETURNING ${USER_COLUMNS}`,
      [id, change.role ?? null, change.disabled ?? null, change.passwordHash ?? null],
    );
    return rows[0] ? toUser(rows[0]) : null;
  }

  /** Active admins other than this user: the last admin may not be demoted or disabled. */
  async otherActiveAdmins(userId: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id <> $1`,
      [userId],
    );
    return rows[0]!.n;
  }

  // --- sessions --------------------------------------------------------------------------------

  async createSession(
    secretHash: string,
    userId: number,
    csrfToken: string,
    ttlMinutes: number,
    ip: string | null,
    userAgent: string | null,
  ): Promise<Date> {
    const { rows } = await this.pool.query<{ expires_at: Date }>(
      `WITH gone AS (DELETE FROM user_sessions WHERE expires_at < now()),
            seen AS (UPDATE users SET last_login_at = now() WHERE id = $2)
       INSERT INTO user_sessions (secret_hash, user_id, csrf_token, expires_at, ip, user_agent)
       VALUES ($1, $2, $3, now() + make_interval(mins => $4), $5, $6) RETURNING expires_at`,
      [secretHash, userId, csrfToken, ttlMinutes, ip, userAgent?.slice(0, 500) ?? null],
    );
    return rows[0]!.expires_at;
  }

  /** The live session of an enabled user, or null. */
  async findSession(secretHash: string): Promise<SessionRow | null> {
    const { rows } = await this.pool.query(
      `SELECT s.user_id::int, u.email, u.role, s.csrf_token, s.expires_at
         FROM user_sessions s JOIN users u ON u.id = s.user_id
        WHERE s.secret_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL`,
      [secretHash],
    );
    const row = rows[0] as Record<string, unknown> | undefined;
    if (!row) return null;
    return {
      userId: row.user_id as number,
      email: row.email as string,
      role: row.role as Role,
      csrfToken: row.csrf_token as string,
      expiresAt: row.expires_at as Date,
    };
  }

  /** Slides the expiry (idle timeout), never past the absolute limit from the sign-in. */
  async touchSession(secretHash: string, ttlMinutes: number, maxMinutes: number): Promise<void> {
    await this.pool.query(
      `UPDATE user_sessions SET last_seen_at = now(),
         expires_at = least(now() + make_interval(mins => $2), created_at + make_interval(mins => $3))
       WHERE secret_hash = $1`,
      [secretHash, ttlMinutes, maxMinutes],
    );
  }

  async deleteSession(secretHash: string): Promise<void> {
    await this.pool.query(`DELETE FROM user_sessions WHERE secret_hash = $1`, [secretHash]);
  }

  async deleteUserSessions(userId: number): Promise<void> {
    await this.pool.query(`DELETE FROM user_sessions WHERE user_id = $1`, [userId]);
  }

  // --- API tokens ------------------------------------------------------------------------------

  async createToken(
    name: string,
    role: Role,
    tokenHash: string,
    prefix: string,
    ownerEmail: string | null,
    createdBy: string | null,
  ): Promise<ApiToken & { ownerEmail: string | null }> {
    const { rows } = await this.pool.query(
      `INSERT INTO api_tokens (name, role, token_hash, prefix, owner_email, created_by)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${TOKEN_COLUMNS}`,
      [name, role, tokenHash, prefix, ownerEmail, createdBy],
    );
    return toToken(rows[0]);
  }

  async listTokens(): Promise<(ApiToken & { ownerEmail: string | null })[]> {
    const { rows } = await this.pool.query(`SELECT ${TOKEN_COLUMNS} FROM api_tokens ORDER BY id`);
    return rows.map(toToken);
  }

  async findActiveToken(tokenHash: string): Promise<TokenRow | null> {
    const { rows } = await this.pool.query(
      `SELECT id::int, name, role, owner_email FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL`,
      [tokenHash],
    );
    const row = rows[0] as Record<string, unknown> | undefined;
    if (!row) return null;
    return {
      id: row.id as number,
      name: row.name as string,
      role: row.role as Role,
      ownerEmail: row.owner_email as string | null,
    };
  }

  async touchToken(id: number): Promise<void> {
    await this.pool.query(`UPDATE api_tokens SET last_used_at = now() WHERE id = $1`, [id]);
  }

  async revokeToken(id: number): Promise<(ApiToken & { ownerEmail: string | null }) | null> {
    const { rows } = await this.pool.query(
      `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${TOKEN_COLUMNS}`,
      [id],
    );
    return rows[0] ? toToken(rows[0]) : null;
  }

  // --- audit log -------------------------------------------------------------------------------

  async audit(record: AuditRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO audit_log (actor, actor_label, action, target, details, ip) VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        record.actor,
        record.actorLabel,
        record.action,
        record.target ?? null,
        JSON.stringify(record.details ?? {}),
        record.ip ?? null,
      ],
    );
  }

  async auditLog(query: AuditLogQuery): Promise<AuditEntry[]> {
    const { rows } = await this.pool.query(
      `SELECT id::int, at, actor, actor_label, action, target, details, ip FROM audit_log
        WHERE ($1::text IS NULL OR action = $1) AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3`,
      [query.action ?? null, query.before ?? null, query.limit],
    );
    return rows.map((row: Record<string, unknown>) => ({
      id: row.id as number,
      at: (row.at as Date).toISOString(),
      actor: row.actor as string,
      actorLabel: row.actor_label as string | null,
      action: row.action as AuditAction,
      target: row.target as string | null,
      details: row.details as Record<string, unknown>,
      ip: row.ip as string | null,
    }));
  }
}
