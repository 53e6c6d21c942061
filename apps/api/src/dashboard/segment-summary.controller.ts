import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  ErrorBodySchema,
  SegmentKeyParamSchema,
  SegmentSummarySchema,
  type SegmentKeyParam,
  type SegmentSummary,
} from '@retain/contracts';
import { SegmentSummaryService } from './segment-summary.service.js';
import { Requires } from '../auth/access.js';

// Not under /segments: /segments/:id there is the custom segment itself.
@ApiTags('dashboard')
@Controller('segment-summary')
export class SegmentSummaryController {
  constructor(private readonly summary: SegmentSummaryService) {}

  @Get(':key')
  @Requires('dashboard:read')
  @ApiOperation({
    summary:
      'A base segment (e.g. smb-novice) or custom segment (its id): risk histogram, reasons, tickets by channel, comments',
  })
  @ApiResponse({ status: 200, standardSchema: SegmentSummarySchema })
  @ApiResponse({ status: 400, standardSchema: ErrorBodySchema })
  @ApiResponse({ status: 404, description: 'Unknown custom segment', standardSchema: ErrorBodySchema })
  get(@Param({ schema: SegmentKeyParamSchema }) params: SegmentKeyParam): Promise<SegmentSummary> {
    return this.summary.get(params.key);
  }
}
