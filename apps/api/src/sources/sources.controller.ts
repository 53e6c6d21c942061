import { Body, Controller, Delete, Get, Param, ParseIntPipe, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  CreateSourceRequestSchema,
  CreatedSourceSchema,
  SourceListSchema,
  SourceSchema,
  type CreateSourceRequest,
  type CreatedSource,
  type Source,
  type SourceList,
} from '@retain/contracts';
import { SourcesService } from './sources.service.js';
import { Requires } from '../auth/access.js';

@ApiTags('sources')
@Requires('data:manage')
@Controller('sources')
export class SourcesController {
  constructor(private readonly sources: SourcesService) {}

  @Post()
  @ApiOperation({ summary: 'Create a source and its write key (shown only in this answer)' })
  @ApiResponse({ status: 201, standardSchema: CreatedSourceSchema })
  create(@Body({ schema: CreateSourceRequestSchema }) body: CreateSourceRequest): Promise<CreatedSource> {
    return this.sources.create(body.name);
  }

  @Get()
  @ApiOperation({ summary: 'List sources (without their keys)' })
  @ApiResponse({ status: 200, standardSchema: SourceListSchema })
  async list(): Promise<SourceList> {
    return { sources: await this.sources.list() };
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a source’s write key; later calls with it get 401' })
  @ApiResponse({ status: 200, standardSchema: SourceSchema })
  revoke(@Param('id', ParseIntPipe) id: number): Promise<Source> {
    return this.sources.revoke(id);
  }
}
