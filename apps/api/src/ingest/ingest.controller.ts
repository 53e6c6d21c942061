import { Controller, HttpCode, Post, Req, applyDecorators } from '@nestjs/common';
import { ApiBasicAuth, ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { ErrorBodySchema, IngestResponseSchema, type IngestResponse } from '@retain/contracts';
import { IngestService } from './ingest.service.js';
import { WriteKeyOnly } from '../auth/access.js';

type SchemaObject = Extract<Parameters<typeof ApiBody>[0], { schema: unknown }>['schema'];

/** A Segment message, as documented for the OpenAPI reader; the code checks each field itself. */
const MESSAGE_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    type: { type: 'string', enum: ['track', 'page', 'screen', 'identify', 'group', 'alias'] },
    messageId: { type: 'string', description: 'Unique per message; a repeat is a duplicate' },
    userId: { type: 'string' },
    anonymousId: { type: 'string' },
    groupId: { type: 'string', description: 'group: the account' },
    previousId: { type: 'string', description: 'alias: the earlier id' },
    event: { type: 'string', description: 'track: the action' },
    name: { type: 'string', description: 'page / screen name' },
    timestamp: { type: 'string', format: 'date-time' },
    properties: { type: 'object' },
    traits: { type: 'object' },
    context: { type: 'object', properties: { groupId: { type: 'string' } } },
  },
};
const BATCH_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['batch'],
  properties: {
    batch: { type: 'array', maxItems: 2500, items: MESSAGE_SCHEMA },
    context: { type: 'object' },
    writeKey: { type: 'string' },
  },
};

const IngestDocs = (summary: string, batch = false) =>
  applyDecorators(
    ApiBody({ schema: batch ? BATCH_SCHEMA : MESSAGE_SCHEMA }),
    ApiOperation({
      summary,
      description:
        'Segment-compatible. Any Content-Type; body may be gzip or deflate. Limits: 512 KB per request after ' +
        'decompression, 32 KB per message, 2,500 messages per batch.',
    }),
    ApiBasicAuth('writeKey'),
    ApiHeader({
      name: 'X-Write-Key',
      required: false,
      description: 'The source’s write key (or Basic auth, or body writeKey)',
    }),
    ApiResponse({
      status: 200,
      description: 'Stored; refused items are listed',
      standardSchema: IngestResponseSchema,
    }),
    ApiResponse({
      status: 400,
      description: 'Not JSON, or over 2,500 messages',
      standardSchema: ErrorBodySchema,
    }),
    ApiResponse({
      status: 401,
      description: 'Missing or unknown write key',
      standardSchema: ErrorBodySchema,
    }),
    ApiResponse({ status: 413, description: 'Body over 512 KB', standardSchema: ErrorBodySchema }),
    ApiResponse({
      status: 429,
      description: 'At capacity; retry after Retry-After',
      standardSchema: ErrorBodySchema,
    }),
    ApiResponse({ status: 503, description: 'Database unavailable; retry', standardSchema: ErrorBodySchema }),
    HttpCode(200),
  );

/** The Segment HTTP tracking API, so existing SDKs (Segment, RudderStack) send to Retain unchanged. */
@ApiTags('ingest')
@WriteKeyOnly()
@Controller('v1')
export class IngestController {
  constructor(private readonly ingest: IngestService) {}

  @Post('batch')
  @IngestDocs('Send a batch of messages ({ batch: [...] })', true)
  batch(@Req() req: Request): Promise<IngestResponse> {
    return this.ingest.ingest(req, {});
  }

  @Post('import')
  @IngestDocs('Send a batch of historical messages; a missing messageId is derived from the content', true)
  import(@Req() req: Request): Promise<IngestResponse> {
    return this.ingest.ingest(req, { historical: true });
  }

  @Post('track')
  @IngestDocs('Record one action a user performed')
  track(@Req() req: Request): Promise<IngestResponse> {
    return this.ingest.ingest(req, { type: 'track' });
  }

  @Post('page')
  @IngestDocs('Record one page view')
  page(@Req() req: Request): Promise<IngestResponse> {
    return this.ingest.ingest(req, { type: 'page' });
  }

  @Post('screen')
  @IngestDocs('Record one mobile screen view')
  screen(@Req() req: Request): Promise<IngestResponse> {
    return this.ingest.ingest(req, { type: 'screen' });
  }

  @Post('identify')
  @IngestDocs('Create or update a contact (userId) and its traits')
  identify(@Req() req: Request): Promise<IngestResponse> {
    return this.ingest.ingest(req, { type: 'identify' });
  }

  @Post('group')
  @IngestDocs('Create or update an account (groupId) and place the user in it')
  group(@Req() req: Request): Promise<IngestResponse> {
    return this.ingest.ingest(req, { type: 'group' });
  }

  @Post('alias')
  @IngestDocs('Merge a previous identity (previousId) into a user (userId)')
  alias(@Req() req: Request): Promise<IngestResponse> {
    return this.ingest.ingest(req, { type: 'alias' });
  }
}
