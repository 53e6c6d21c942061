import { Body, Controller, Delete, Get, Param, Post, Req } from '@nestjs/common';
import { ParseIdPipe } from '../common/id.pipe.js';
import type { Request } from 'express';
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
import { clientIp, CurrentPrincipal, Requires, type Principal } from '../auth/access.js';
import { actorOf } from '../auth/auth.service.js';

@ApiTags('sources')
@Requires('data:manage')
@Controller('sources')
export class SourcesController {
  constructor(private readonly sources: SourcesService) {}

  @Post()
  @ApiOperation({ summary: 'Create a source and its write key (shown only in this answer)' })
  @ApiResponse({ status: 201, standardSchema: CreatedSourceSchema })
  create(
    @Body({ schema: CreateSourceRequestSchema }) body: CreateSourceRequest,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<CreatedSource> {
    return this.sources.create(body.name, actorOf(principal, clientIp(req)));
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
  revoke(
    @Param('id', ParseIdPipe.INTEGER) id: number,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<Source> {
    return this.sources.revoke(id, actorOf(principal, clientIp(req)));
  }
}
