import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ParseIdPipe } from '../common/id.pipe.js';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  AnalyticsRunListSchema,
  AnalyticsRunSchema,
  ErrorBodySchema,
  RunAnalyticsRequestSchema,
  type AnalyticsRun,
  type AnalyticsRunList,
  type RunAnalyticsRequest,
} from '@retain/contracts';
import { AnalyticsJobService } from './analytics-job.service.js';
import { Requires } from '../auth/access.js';

@ApiTags('analytics')
@Controller('jobs/analytics')
export class AnalyticsController {
  constructor(private readonly job: AnalyticsJobService) {}

  @Post('run')
  @Requires('jobs:run')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Start an analytics run now; answered at once with the run (poll it for progress)',
  })
  @ApiResponse({ status: 202, standardSchema: AnalyticsRunSchema })
  @ApiResponse({ status: 409, description: 'A run is already in progress', standardSchema: ErrorBodySchema })
  async run(@Body({ schema: RunAnalyticsRequestSchema }) body: RunAnalyticsRequest): Promise<AnalyticsRun> {
    const id = await new Promise<number>((resolve, reject) => {
      this.job.run('api', body.full, resolve).catch(reject);
    });
    return this.job.get(id);
  }

  @Get('runs')
  @Requires('dashboard:read')
  @ApiOperation({ summary: 'Recent analytics runs, newest first' })
  @ApiResponse({ status: 200, standardSchema: AnalyticsRunListSchema })
  async list(): Promise<AnalyticsRunList> {
    return { runs: await this.job.list() };
  }

  @Get('runs/:id')
  @Requires('dashboard:read')
  @ApiOperation({ summary: 'One run: status, progress (0-100 while running), stage timings, model quality' })
  @ApiResponse({ status: 200, standardSchema: AnalyticsRunSchema })
  get(@Param('id', ParseIdPipe.BIGINT) id: number): Promise<AnalyticsRun> {
    return this.job.get(id);
  }
}
