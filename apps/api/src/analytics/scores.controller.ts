import { Readable } from 'node:stream';
import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
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
import { Requires } from '../auth/access.js';

@ApiTags('analytics')
@Controller()
export class ScoresController {
  constructor(private readonly scores: ScoresService) {}

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
  @Requires('accounts:export')
  @ApiOperation({
    summary:
      'One CSV row per account: external_id, tier, proficiency, segments, churn_risk, health, upsell_score, top_reasons',
  })
  @ApiProduces('text/csv')
  exportScores(@Res() res: Response): void {
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', 'attachment; filename="retain-scores.csv"');
    Readable.from(this.scores.exportCsv()).pipe(res);
  }
}
