import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { HealthResponseSchema, type HealthResponse } from '@retain/contracts';
import { HealthService } from './health.service.js';
import { Public } from '../auth/access.js';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @ApiOperation({ summary: 'Liveness and readiness: database and DuckDB status' })
  @ApiResponse({ status: 200, description: 'Every component is up', standardSchema: HealthResponseSchema })
  @ApiResponse({ status: 503, description: 'A component is down', standardSchema: HealthResponseSchema })
  async get(@Res({ passthrough: true }) res: Response): Promise<HealthResponse> {
    const report = await this.health.check();
    res.status(report.status === 'ok' ? 200 : 503);
    return report;
  }
}
