import { applyDecorators, createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiResponse } from '@nestjs/swagger';
import { ErrorBodySchema, hasPermission, type Permission, type Role } from '@retain/contracts';
import type { Request } from 'express';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';

/** Who is calling: a signed-in user (session cookie) or a script (API token). */
export interface Principal {
  kind: 'session' | 'token';
  /** user:ID or token:ID, as the audit log names actors. */
  actor: string;
  /** The user's email or the token's name. */
  label: string;
  role: Role;
  /** An account manager sees only the accounts this email owns; null: every account. */
  accountScope: string | null;
  /** Sessions only: the token writes must echo, and when the session ends. */
  csrfToken?: string;
  expiresAt?: Date;
  userId?: number;
}

/** What of the customer data a caller may see, for services that filter or mask it. */
export interface DataAccess {
  /** Null: every account; else only the accounts this email owns. */
  accountScope: string | null;
  /** Without it, contacts' emails are masked (j***@example.com). */
  contactEmails: boolean;
}

export const dataAccess = (principal: Principal): DataAccess => ({
  accountScope: principal.accountScope,
  contactEmails: hasPermission(principal.role, 'contacts:email'),
});

/** The whole data, for work that is not done for a caller (jobs, the command line). */
export const FULL_ACCESS: DataAccess = { accountScope: null, contactEmails: true };

export type RequestWithPrincipal = Request & { principal?: Principal };

/** How a route is reached. Every controller route declares one; the guard refuses routes without. */
export type AccessRule =
  | { kind: 'public' }
  | { kind: 'write-key' }
  | { kind: 'signed-in' }
  | { kind: 'permission'; permission: Permission };

export const ACCESS_RULE = 'retain:access';

const documented = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    ApiBearerAuth(),
    ApiCookieAuth(),
    ApiResponse({
      status: 401,
      description: 'No valid session or API token',
      standardSchema: ErrorBodySchema,
    }),
  );

/** Open to anyone (health, sign-in). */
export const Public = (): MethodDecorator & ClassDecorator =>
  SetMetadata(ACCESS_RULE, { kind: 'public' } satisfies AccessRule);

/** Ingest (/v1): authenticated by the route itself with a source's write key, never by a user. */
export const WriteKeyOnly = (): MethodDecorator & ClassDecorator =>
  SetMetadata(ACCESS_RULE, { kind: 'write-key' } satisfies AccessRule);

/** Any signed-in user or token, whatever the role (their own session, sign-out). */
export const SignedIn = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ACCESS_RULE, { kind: 'signed-in' } satisfies AccessRule), documented());

/** A session or token whose role grants `permission`; others get 403. */
export const Requires = (permission: Permission): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(ACCESS_RULE, { kind: 'permission', permission } satisfies AccessRule),
    documented(),
    ApiResponse({
      status: 403,
      description: `Needs the ${permission} permission`,
      standardSchema: ErrorBodySchema,
    }),
  );

/** The caller the guard let in. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<RequestWithPrincipal>().principal;
  if (!principal) throw new AppException(ErrorCode.Unauthorized, 'Sign in or send an API token');
  return principal;
});

/** The client's address as the socket saw it (no proxy headers are trusted). */
export const clientIp = (req: Request): string | null => req.socket.remoteAddress ?? null;
