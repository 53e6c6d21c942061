import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  ErrorBodySchema,
  SupportCommentsQuerySchema,
  SupportCommentsSchema,
  SupportMatrixSchema,
  SupportTrendsQuerySchema,
  SupportTrendsSchema,
  type SupportComments,
  type SupportCommentsQuery,
  type SupportMatrix,
  type SupportTrends,
  type SupportTrendsQuery,
} from '@retain/contracts';
import { SupportQualityService } from './support-quality.service.js';
import { CurrentPrincipal, Requires, type Principal } from '../auth/access.js';

@ApiTags('dashboard')
@Controller('support')
export class SupportQualityController {
  constructor(private readonly support: SupportQualityService) {}

  @Get('matrix')
  @Requires('dashboard:read')
  @ApiOperation({
    summary: 'ASA (mean, median, p90) and CSAT per channel x segment, with totals, over 26 weeks',
  })
  @ApiResponse({ status: 200, standardSchema: SupportMatrixSchema })
  matrix(): Promise<SupportMatrix> {
    return this.support.matrix();
  }

  @Get('trends')
  @Requires('dashboard:read')
  @ApiOperation({
    summary: 'ASA and CSAT per week and channel (or segment), optionally for one segment (or channel)',
  })
  @ApiResponse({ status: 200, standardSchema: SupportTrendsSchema })
  @ApiResponse({ status: 400, standardSchema: ErrorBodySchema })
  trends(@Query({ schema: SupportTrendsQuerySchema }) query: SupportTrendsQuery): Promise<SupportTrends> {
    return this.support.trends(query);
  }

  @Get('comments')
  @Requires('dashboard:read')
  @ApiOperation({ summary: 'Rated tickets with a comment, newest first, paged by cursor' })
  @ApiResponse({ status: 200, standardSchema: SupportCommentsSchema })
  @ApiResponse({ status: 400, standardSchema: ErrorBodySchema })
  @ApiResponse({ status: 404, description: 'Unknown custom segment', standardSchema: ErrorBodySchema })
  comments(
    @Query({ schema: SupportCommentsQuerySchema }) query: SupportCommentsQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SupportComments> {
    return this.support.comments(query, principal.accountScope);
  }
}
