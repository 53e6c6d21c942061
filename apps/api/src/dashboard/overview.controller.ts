import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  ErrorBodySchema,
  OverviewQuerySchema,
  OverviewSchema,
  TrendsQuerySchema,
  TrendsSchema,
  type Overview,
  type OverviewQuery,
  type Trends,
  type TrendsQuery,
} from '@retain/contracts';
import { OverviewService } from './overview.service.js';
import { Requires } from '../auth/access.js';

@ApiTags('dashboard')
@Controller()
export class OverviewController {
  constructor(private readonly overview: OverviewService) {}

  @Get('overview')
  @Requires('dashboard:read')
  @ApiOperation({
    summary:
      'The tier x proficiency matrix (accounts, MRR, high-risk share, CSAT, ASA median, change), segment movements and the last run',
  })
  @ApiResponse({ status: 200, standardSchema: OverviewSchema })
  @ApiResponse({ status: 400, standardSchema: ErrorBodySchema })
  get(@Query({ schema: OverviewQuerySchema }) query: OverviewQuery): Promise<Overview> {
    return this.overview.get(query);
  }

  @Get('trends')
  @Requires('dashboard:read')
  @ApiOperation({ summary: 'Per ISO week and segment: accounts, churn-risk mix, ASA and CSAT' })
  @ApiResponse({ status: 200, standardSchema: TrendsSchema })
  @ApiResponse({ status: 400, standardSchema: ErrorBodySchema })
  trends(@Query({ schema: TrendsQuerySchema }) query: TrendsQuery): Promise<Trends> {
    return this.overview.trends(query);
  }
}
