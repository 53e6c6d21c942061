import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ParseIdPipe } from '../common/id.pipe.js';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  CreateSegmentRequestSchema,
  ErrorBodySchema,
  FilterFieldListSchema,
  SegmentListSchema,
  SegmentMembersPageSchema,
  SegmentMembersQuerySchema,
  SegmentPreviewRequestSchema,
  SegmentPreviewSchema,
  SegmentSchema,
  UpdateSegmentRequestSchema,
  type CreateSegmentRequest,
  type FilterFieldList,
  type Segment,
  type SegmentList,
  type SegmentMembersPage,
  type SegmentMembersQuery,
  type SegmentPreview,
  type SegmentPreviewRequest,
  type UpdateSegmentRequest,
} from '@retain/contracts';
import { SegmentsService } from './segments.service.js';
import { CurrentPrincipal, Requires, type Principal } from '../auth/access.js';

@ApiTags('segments')
@Controller('segments')
export class SegmentsController {
  constructor(private readonly segments: SegmentsService) {}

  @Get('fields')
  @Requires('dashboard:read')
  @ApiOperation({ summary: 'The fields, features and ops a segment filter may use (for the filter builder)' })
  @ApiResponse({ status: 200, standardSchema: FilterFieldListSchema })
  fields(): FilterFieldList {
    return this.segments.fields();
  }

  @Post('preview')
  @Requires('segments:write')
  @HttpCode(200)
  @ApiOperation({ summary: 'How many scored accounts a filter matches now, with the 10 riskiest' })
  @ApiResponse({ status: 200, standardSchema: SegmentPreviewSchema })
  @ApiResponse({
    status: 400,
    description: 'Names each invalid part of the filter',
    standardSchema: ErrorBodySchema,
  })
  preview(
    @Body({ schema: SegmentPreviewRequestSchema }) body: SegmentPreviewRequest,
  ): Promise<SegmentPreview> {
    return this.segments.preview(body.filter);
  }

  @Post()
  @Requires('segments:write')
  @ApiOperation({ summary: 'Save a segment; its members are computed at once, then on every analytics run' })
  @ApiResponse({ status: 201, standardSchema: SegmentSchema })
  @ApiResponse({
    status: 400,
    description: 'Names each invalid part of the filter',
    standardSchema: ErrorBodySchema,
  })
  @ApiResponse({ status: 409, description: 'The name is taken', standardSchema: ErrorBodySchema })
  create(@Body({ schema: CreateSegmentRequestSchema }) body: CreateSegmentRequest): Promise<Segment> {
    return this.segments.create(body);
  }

  @Get()
  @Requires('dashboard:read')
  @ApiOperation({ summary: 'Saved segments, by name, with their member counts' })
  @ApiResponse({ status: 200, standardSchema: SegmentListSchema })
  async list(): Promise<SegmentList> {
    return { segments: await this.segments.list() };
  }

  @Get(':id')
  @Requires('dashboard:read')
  @ApiResponse({ status: 200, standardSchema: SegmentSchema })
  @ApiResponse({ status: 404, standardSchema: ErrorBodySchema })
  get(@Param('id', ParseIdPipe.BIGINT) id: number): Promise<Segment> {
    return this.segments.get(id);
  }

  @Patch(':id')
  @Requires('segments:write')
  @ApiOperation({ summary: 'Rename, redescribe or refilter a segment; a new filter recomputes its members' })
  @ApiResponse({ status: 200, standardSchema: SegmentSchema })
  update(
    @Param('id', ParseIdPipe.BIGINT) id: number,
    @Body({ schema: UpdateSegmentRequestSchema }) body: UpdateSegmentRequest,
  ): Promise<Segment> {
    return this.segments.update(id, body);
  }

  @Delete(':id')
  @Requires('segments:write')
  @HttpCode(204)
  @ApiResponse({ status: 204, description: 'Deleted' })
  delete(@Param('id', ParseIdPipe.BIGINT) id: number): Promise<void> {
    return this.segments.delete(id);
  }

  @Get(':id/members')
  @Requires('accounts:read')
  @ApiOperation({ summary: 'A segment’s member accounts in account id order, a page at a time' })
  @ApiResponse({ status: 200, standardSchema: SegmentMembersPageSchema })
  members(
    @Param('id', ParseIdPipe.BIGINT) id: number,
    @Query({ schema: SegmentMembersQuerySchema }) query: SegmentMembersQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SegmentMembersPage> {
    return this.segments.members(id, query, principal.accountScope);
  }
}
