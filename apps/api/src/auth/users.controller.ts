import { Body, Controller, Delete, Get, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  ApiTokenListSchema,
  ApiTokenSchema,
  AuditLogPageSchema,
  AuditLogQuerySchema,
  CreateApiTokenRequestSchema,
  CreateUserRequestSchema,
  CreatedApiTokenSchema,
  CreatedUserSchema,
  ErrorBodySchema,
  TokenIdParamSchema,
  UpdateUserRequestSchema,
  UserIdParamSchema,
  UserListSchema,
  UserSchema,
  type ApiToken,
  type ApiTokenList,
  type AuditLogPage,
  type AuditLogQuery,
  type CreateApiTokenRequest,
  type CreateUserRequest,
  type CreatedApiToken,
  type CreatedUser,
  type TokenIdParam,
  type UpdateUserRequest,
  type User,
  type UserIdParam,
  type UserList,
} from '@retain/contracts';
import type { Request } from 'express';
import { clientIp, CurrentPrincipal, Requires, type Principal } from './access.js';
import { actorOf, AuthService } from './auth.service.js';

@ApiTags('users')
@Controller()
@Requires('users:manage')
export class UsersController {
  constructor(private readonly auth: AuthService) {}

  @Get('users')
  @ApiOperation({ summary: 'Users and their roles' })
  @ApiResponse({ status: 200, standardSchema: UserListSchema })
  async list(): Promise<UserList> {
    return { users: await this.auth.listUsers() };
  }

  @Post('users')
  @ApiOperation({ summary: 'Create a user; the generated password is in this answer only' })
  @ApiResponse({ status: 201, standardSchema: CreatedUserSchema })
  @ApiResponse({ status: 409, description: 'Email taken', standardSchema: ErrorBodySchema })
  create(
    @Body({ schema: CreateUserRequestSchema }) body: CreateUserRequest,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<CreatedUser> {
    return this.auth.createUser(body.email, body.role, actorOf(principal, clientIp(req)));
  }

  @Patch('users/:id')
  @ApiOperation({ summary: "Change a user's role or disable them (their sessions end)" })
  @ApiResponse({ status: 200, standardSchema: UserSchema })
  @ApiResponse({ status: 409, description: 'The last active admin', standardSchema: ErrorBodySchema })
  update(
    @Param({ schema: UserIdParamSchema }) params: UserIdParam,
    @Body({ schema: UpdateUserRequestSchema }) body: UpdateUserRequest,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<User> {
    return this.auth.updateUser(params.id, body, actorOf(principal, clientIp(req)));
  }

  @Post('users/:id/password')
  @ApiOperation({ summary: 'Reset a password; the new one is in this answer only and sessions end' })
  @ApiResponse({ status: 201, standardSchema: CreatedUserSchema })
  resetPassword(
    @Param({ schema: UserIdParamSchema }) params: UserIdParam,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<CreatedUser> {
    return this.auth.resetPassword(params.id, actorOf(principal, clientIp(req)));
  }

  @Get('tokens')
  @ApiOperation({ summary: 'API tokens (without the tokens themselves)' })
  @ApiResponse({ status: 200, standardSchema: ApiTokenListSchema })
  async tokens(): Promise<ApiTokenList> {
    return { tokens: await this.auth.listTokens() };
  }

  @Post('tokens')
  @ApiOperation({ summary: 'Create an API token for scripts; the token is in this answer only' })
  @ApiResponse({ status: 201, standardSchema: CreatedApiTokenSchema })
  createToken(
    @Body({ schema: CreateApiTokenRequestSchema }) body: CreateApiTokenRequest,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<CreatedApiToken> {
    return this.auth.createToken(
      body.name,
      body.role,
      body.ownerEmail ?? null,
      actorOf(principal, clientIp(req)),
    );
  }

  @Delete('tokens/:id')
  @ApiOperation({ summary: 'Revoke an API token; requests with it get 401' })
  @ApiResponse({ status: 200, standardSchema: ApiTokenSchema })
  revokeToken(
    @Param({ schema: TokenIdParamSchema }) params: TokenIdParam,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<ApiToken> {
    return this.auth.revokeToken(params.id, actorOf(principal, clientIp(req)));
  }

  @Get('audit-log')
  @ApiOperation({ summary: 'Sensitive actions, newest first: sign-ins, exports, keys, tokens, roles' })
  @ApiResponse({ status: 200, standardSchema: AuditLogPageSchema })
  auditLog(@Query({ schema: AuditLogQuerySchema }) query: AuditLogQuery): Promise<AuditLogPage> {
    return this.auth.auditLog(query);
  }
}
