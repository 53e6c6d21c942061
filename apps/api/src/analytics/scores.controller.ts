import { Readable } from 'node:stream';
import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  MovementsQuerySchema,
  MovementsSchema,
  type Movements,
  type MovementsQuery,
  SupportMetricsQuerySchema,
  SupportMetricsSchema,
  type SupportMetrics,
  type SupportMetricsQuery,
} from '@retain/contracts';
import { ScoresService } from './scores.service.js';
import { clientIp, CurrentPrincipal, Requires, type Principal } from '../auth/access.js';
import { actorOf, AuthService } from '../auth/auth.service.js';

@ApiTags('analytics')
@Controller()
export class ScoresController {
  constructor(
    private readonly scores: ScoresService,
    private readonly auth: AuthService,
  ) {}

  @Get('metrics/support')
  @Requires('dashboard:read')
  @ApiOperation({
    summary:
      'ASA and CSAT by channel, segment or week, from the last analytics run (tickets of the last 26 weeks)',
  })
  @ApiResponse({ status: 200, standardSchema: SupportMetricsSchema })
  supportMetrics(
    @Query({ schema: SupportMetricsQuerySchema }) query: SupportMetricsQuery,
  ): Promise<SupportMetrics> {
    return this.scores.supportMetrics(query);
  }

  @Get('movements')
  @Requires('dashboard:read')
  @ApiOperation({
    summary: 'Accounts that changed base segment in an analytics run (default: the latest with any)',
  })
  @ApiResponse({ status: 200, standardSchema: MovementsSchema })
  movements(@Query({ schema: MovementsQuerySchema }) query: MovementsQuery): Promise<Movements> {
    return this.scores.movements(query);
  }

  @Get('scores/export')
  @Requires('scores:export')
  @ApiOperation({
    summary:
      'One CSV row per account: external_id, tier, proficiency, segments, churn_risk, health, upsell_score, top_reasons',
  })
  @ApiProduces('text/csv')
  async exportScores(
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.auth.audit(actorOf(principal, clientIp(req)), 'export.scores');
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', 'attachment; filename="retain-scores.csv"');
    Readable.from(this.scores.exportCsv()).pipe(res);
  }
}
