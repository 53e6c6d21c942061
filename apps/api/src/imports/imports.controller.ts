import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ParseIdPipe } from '../common/id.pipe.js';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  ErrorBodySchema,
  IMPORT_FORMATS,
  IMPORT_KINDS,
  ImportListSchema,
  ImportSchema,
  TicketsWriteResponseSchema,
  type Import,
  type ImportFormat,
  type ImportKind,
  type ImportList,
  type TicketsWriteResponse,
} from '@retain/contracts';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { ImportFileError, parseMappingOption } from './csv-reader.js';
import { ImportsService } from './imports.service.js';
import { Requires } from '../auth/access.js';

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string, fallback?: T): T {
  if ((value === undefined || value === '') && fallback) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  const message = `must be one of ${allowed.join(', ')}`;
  throw new AppException(ErrorCode.ValidationFailed, `${field}: ${message}`, {
    fields: [{ path: field, message }],
  });
}

function mappingFrom(query: Record<string, unknown>): Record<string, string> {
  const spec = query.mapping ?? query.map;
  try {
    return parseMappingOption(
      Array.isArray(spec) ? spec.map(String) : typeof spec === 'string' ? spec : undefined,
    );
  } catch (error) {
    const message = error instanceof ImportFileError ? error.message : 'is not valid';
    throw new AppException(ErrorCode.ValidationFailed, `mapping: ${message}`, {
      fields: [{ path: 'mapping', message }],
    });
  }
}

@ApiTags('imports')
@Requires('data:manage')
@Controller()
export class ImportsController {
  constructor(private readonly imports: ImportsService) {}

  @Post('tickets')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create or update tickets from a JSON array, { tickets: [...] } or NDJSON (up to 10 MB)',
    description:
      'Fields as the CSV columns (external_id, channel, created_at, ...). Upserted by (source, external_id). ' +
      'Send NDJSON with Content-Type application/x-ndjson.',
  })
  @ApiQuery({ name: 'source', required: false, description: 'System the tickets come from (default api)' })
  @ApiBody({ schema: { type: 'array', items: { type: 'object' } }, description: 'Tickets, or NDJSON text' })
  @ApiResponse({ status: 200, standardSchema: TicketsWriteResponseSchema })
  @ApiResponse({
    status: 413,
    description: 'Over 10 MB: use POST /api/imports/tickets',
    standardSchema: ErrorBodySchema,
  })
  postTickets(@Req() req: Request, @Query('source') source?: string): Promise<TicketsWriteResponse> {
    return this.imports.postTickets(req, source || 'api');
  }

  @Post('imports/:kind')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Upload a file to import (accounts, contacts or tickets); answered 202, then poll the import',
    description:
      'The body is the file itself (gzip allowed). Query: format (csv, ndjson; tickets also json and zendesk), ' +
      'source (tickets), mapping (JSON {"external_id":"Account ID"} or repeated map=external_id=Account ID), fileName.',
  })
  @ApiBody({ schema: { type: 'string', format: 'binary' }, description: 'The file itself' })
  @ApiResponse({ status: 202, standardSchema: ImportSchema })
  async upload(
    @Param('kind') kindParam: string,
    @Query() query: Record<string, unknown>,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Import> {
    const kind = oneOf<ImportKind>(kindParam, IMPORT_KINDS, 'kind');
    const format = oneOf<ImportFormat>(query.format, IMPORT_FORMATS, 'format', 'csv');
    const created = await this.imports.upload(req, {
      kind,
      format,
      source: typeof query.source === 'string' && query.source ? query.source : undefined,
      mapping: mappingFrom(query),
      fileName: typeof query.fileName === 'string' ? query.fileName.slice(0, 255) : undefined,
    });
    res.setHeader('Location', `/api/imports/${created.id}`);
    return created;
  }

  @Get('imports')
  @ApiOperation({ summary: 'Recent imports, newest first' })
  @ApiResponse({ status: 200, standardSchema: ImportListSchema })
  async list(): Promise<ImportList> {
    return { imports: await this.imports.list() };
  }

  @Get('imports/:id')
  @ApiOperation({
    summary: 'An import’s status, progress and counts (rejected rows: GET /api/rejected-items?importId=)',
  })
  @ApiResponse({ status: 200, standardSchema: ImportSchema })
  @ApiResponse({ status: 404, standardSchema: ErrorBodySchema })
  get(@Param('id', ParseIdPipe.BIGINT) id: number): Promise<Import> {
    return this.imports.get(id);
  }
}
