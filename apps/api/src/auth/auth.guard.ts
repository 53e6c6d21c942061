import { Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { hasPermission, PERMISSIONS, ROLE_LABELS } from '@retain/contracts';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { ACCESS_RULE, type AccessRule, type RequestWithPrincipal } from './access.js';
import { AuthService, CSRF_HEADER } from './auth.service.js';
import { sameSecret } from './secrets.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every route passes here (a global guard). A route's access rule comes from its decorator
 * (Public, WriteKeyOnly, SignedIn, Requires); a route without one is refused for everyone, so a
 * forgotten decorator closes a route rather than opening it.
 *
 * Writes made with the session cookie must echo the session's CSRF token in X-CSRF-Token, and
 * when the browser sends an Origin it must be this server's: another site cannot make a signed-in
 * browser write. API tokens travel in a header no other site can set, so they need neither.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
      context.getHandler(),
      context.getClass(),
    ]);
    const req = context.switchToHttp().getRequest<RequestWithPrincipal>();
    if (!rule) {
      this.logger.error(`${req.method} ${req.path} has no access rule; refused`);
      throw new AppException(ErrorCode.Forbidden, 'This route has no access rule');
    }
    if (rule.kind === 'public' || rule.kind === 'write-key') return true;

    const principal = await this.auth.authenticate(req);
    if (!principal)
      throw new AppException(ErrorCode.Unauthorized, 'Sign in, or send Authorization: Bearer TOKEN');

    if (principal.kind === 'session' && !SAFE_METHODS.has(req.method)) {
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `${req.protocol}://${req.headers.host}`)
        throw new AppException(ErrorCode.Forbidden, `Cross-site request refused (Origin ${origin})`);
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !principal.csrfToken || !sameSecret(sent, principal.csrfToken))
        throw new AppException(
          ErrorCode.Forbidden,
          'Missing or wrong X-CSRF-Token header for a signed-in write',
        );
    }

    if (rule.kind === 'permission' && !hasPermission(principal.role, rule.permission))
      throw new AppException(
        ErrorCode.Forbidden,
        `The ${ROLE_LABELS[principal.role]} role may not ${PERMISSIONS[rule.permission]} (${rule.permission})`,
        { permission: rule.permission, role: principal.role },
      );
    req.principal = principal;
    return true;
  }
}
