import { Readable, pipeline } from 'node:stream';
import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  Account360Schema,
  AccountActivityQuerySchema,
  AccountActivitySchema,
  AccountFiltersSchema,
  AccountIdParamSchema,
  AccountListQuerySchema,
  AccountListSchema,
  AccountTicketsQuerySchema,
  AccountTicketsSchema,
  ErrorBodySchema,
  OwnerListSchema,
  type Account360,
  type AccountActivity,
  type AccountActivityQuery,
  type AccountFilters,
  type AccountIdParam,
  type AccountList,
  type AccountListQuery,
  type AccountTickets,
  type AccountTicketsQuery,
  type OwnerList,
} from '@retain/contracts';
import { AccountsService } from './accounts.service.js';
import { clientIp, CurrentPrincipal, dataAccess, Requires, type Principal } from '../auth/access.js';
import { actorOf, AuthService } from '../auth/auth.service.js';

@ApiTags('dashboard')
@Controller()
export class AccountsController {
  constructor(
    private readonly accounts: AccountsService,
    private readonly auth: AuthService,
  ) {}

  @Get('accounts')
  @Requires('accounts:read')
  @ApiOperation({ summary: 'Scored accounts, filtered, sorted and paged (riskiest first by default)' })
  @ApiResponse({ status: 200, standardSchema: AccountListSchema })
  @ApiResponse({ status: 400, standardSchema: ErrorBodySchema })
  @ApiResponse({ status: 404, description: 'Unknown custom segment', standardSchema: ErrorBodySchema })
  list(
    @Query({ schema: AccountListQuerySchema }) query: AccountListQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<AccountList> {
    return this.accounts.find(query, principal.accountScope);
  }

  // Before accounts/:id, so the literal path wins.
  @Get('accounts/export.csv')
  @Requires('accounts:export')
  @ApiOperation({ summary: 'The same list as CSV: every matching account, same filters and order' })
  @ApiProduces('text/csv')
  async exportCsv(
    @Query({ schema: AccountFiltersSchema }) query: AccountFilters,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const lines = await this.accounts.exportCsv(query, principal.accountScope);
    await this.auth.audit(actorOf(principal, clientIp(req)), 'export.accounts', null, { filters: query });
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', 'attachment; filename="retain-accounts.csv"');
    // pipeline, not pipe: a client leaving mid-file ends the generator, which closes its cursor.
    pipeline(Readable.from(lines), res, () => undefined);
  }

  @Get('owners')
  @Requires('accounts:read')
  @ApiOperation({ summary: 'Account owners with their account counts' })
  @ApiResponse({ status: 200, standardSchema: OwnerListSchema })
  owners(@CurrentPrincipal() principal: Principal): Promise<OwnerList> {
    return this.accounts.owners(principal.accountScope);
  }

  @Get('accounts/:id')
  @Requires('accounts:read')
  @ApiOperation({ summary: 'Account 360: facts, score and reasons, risk trend, contacts, segment history' })
  @ApiResponse({ status: 200, standardSchema: Account360Schema })
  @ApiResponse({ status: 404, standardSchema: ErrorBodySchema })
  get(
    @Param({ schema: AccountIdParamSchema }) params: AccountIdParam,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Account360> {
    return this.accounts.get(params.id, dataAccess(principal));
  }

  @Get('accounts/:id/activity')
  @Requires('accounts:read')
  @ApiOperation({ summary: 'Events and active users per ISO week' })
  @ApiResponse({ status: 200, standardSchema: AccountActivitySchema })
  @ApiResponse({ status: 404, standardSchema: ErrorBodySchema })
  activity(
    @Param({ schema: AccountIdParamSchema }) params: AccountIdParam,
    @Query({ schema: AccountActivityQuerySchema }) query: AccountActivityQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<AccountActivity> {
    return this.accounts.activity(params.id, query, principal.accountScope);
  }

  @Get('accounts/:id/tickets')
  @Requires('accounts:read')
  @ApiOperation({ summary: "The account's tickets, newest first, with first response time and CSAT" })
  @ApiResponse({ status: 200, standardSchema: AccountTicketsSchema })
  @ApiResponse({ status: 404, standardSchema: ErrorBodySchema })
  tickets(
    @Param({ schema: AccountIdParamSchema }) params: AccountIdParam,
    @Query({ schema: AccountTicketsQuerySchema }) query: AccountTicketsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<AccountTickets> {
    return this.accounts.tickets(params.id, query, principal.accountScope);
  }
}
