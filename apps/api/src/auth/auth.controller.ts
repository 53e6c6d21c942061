import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  ErrorBodySchema,
  LoginRequestSchema,
  SessionSchema,
  type LoginRequest,
  type Session,
} from '@retain/contracts';
import type { Request, Response } from 'express';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { Inject } from '@nestjs/common';
import { CurrentPrincipal, Public, SignedIn, type Principal } from './access.js';
import { AuthService, CSRF_COOKIE, SESSION_COOKIE } from './auth.service.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private secure(req: Request): boolean {
    const setting = this.config.auth.cookieSecure;
    return setting === 'auto' ? req.secure : setting;
  }

  @Post('login')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Sign in: sets an HTTP-only session cookie and answers the session with its CSRF token',
  })
  @ApiResponse({ status: 200, standardSchema: SessionSchema })
  @ApiResponse({ status: 401, description: 'Wrong email or password', standardSchema: ErrorBodySchema })
  @ApiResponse({ status: 429, description: 'Too many failed sign-ins', standardSchema: ErrorBodySchema })
  async login(
    @Body({ schema: LoginRequestSchema }) body: LoginRequest,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Session> {
    const { secret, session } = await this.auth.login(body.email, body.password, req);
    const secure = this.secure(req);
    const maxAge = this.config.auth.sessionMaxHours * 3_600_000;
    res.cookie(SESSION_COOKIE, secret, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge });
    // Readable by the dashboard's script, which echoes it as X-CSRF-Token; another site cannot read it.
    res.cookie(CSRF_COOKIE, session.csrfToken, {
      httpOnly: false,
      sameSite: 'strict',
      secure,
      path: '/',
      maxAge,
    });
    res.setHeader('Cache-Control', 'no-store');
    return session;
  }

  @Post('logout')
  @SignedIn()
  @HttpCode(204)
  @ApiOperation({ summary: 'Sign out: ends the session and clears its cookies' })
  async logout(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.auth.logout(req, principal);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.clearCookie(CSRF_COOKIE, { path: '/' });
  }

  @Get('session')
  @SignedIn()
  @ApiOperation({ summary: 'Who is signed in, their permissions and the CSRF token for writes' })
  @ApiResponse({ status: 200, standardSchema: SessionSchema })
  session(@CurrentPrincipal() principal: Principal, @Res({ passthrough: true }) res: Response): Session {
    res.setHeader('Cache-Control', 'no-store');
    return this.auth.session(principal);
  }
}
