import { Body, Controller, Get, Put, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  ErrorBodySchema,
  ThresholdSettingsSchema,
  ThresholdsSchema,
  type ThresholdSettings,
  type Thresholds,
} from '@retain/contracts';
import type { Request } from 'express';
import { clientIp, CurrentPrincipal, Requires, type Principal } from '../auth/access.js';
import { actorOf } from '../auth/auth.service.js';
import { ThresholdsService } from './thresholds.service.js';

@ApiTags('analytics')
@Controller('settings/thresholds')
export class ThresholdsController {
  constructor(private readonly thresholds: ThresholdsService) {}

  @Get()
  @Requires('dashboard:read')
  @ApiOperation({ summary: 'The size tiers and novice / expert cut-off the analytics job segments by' })
  @ApiResponse({ status: 200, standardSchema: ThresholdSettingsSchema })
  get(): Promise<ThresholdSettings> {
    return this.thresholds.settings();
  }

  @Put()
  @Requires('thresholds:edit')
  @ApiOperation({ summary: 'Save new thresholds; the next analytics run segments by them' })
  @ApiResponse({ status: 200, standardSchema: ThresholdSettingsSchema })
  @ApiResponse({ status: 400, description: 'Names each invalid field', standardSchema: ErrorBodySchema })
  update(
    @Body({ schema: ThresholdsSchema }) body: Thresholds,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<ThresholdSettings> {
    return this.thresholds.update(body, actorOf(principal, clientIp(req)));
  }
}
