import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  RejectedItemPageSchema,
  RejectedItemsQuerySchema,
  type RejectedItemPage,
  type RejectedItemsQuery,
} from '@retain/contracts';
import { RejectedItemsRepository } from './rejected-items.repository.js';
import { Requires } from '../auth/access.js';

@ApiTags('ingest')
@Requires('data:manage')
@Controller('rejected-items')
export class RejectedItemsController {
  constructor(private readonly rejected: RejectedItemsRepository) {}

  @Get()
  @ApiOperation({
    summary: 'Items Retain refused (events, rows of imports, tickets), newest first, with the reason',
    description: 'Filter by kind, sourceId or importId; page with `before` (the answer’s nextBefore).',
  })
  @ApiResponse({ status: 200, standardSchema: RejectedItemPageSchema })
  async list(
    @Query({ schema: RejectedItemsQuerySchema }) query: RejectedItemsQuery,
  ): Promise<RejectedItemPage> {
    const items = await this.rejected.list(query);
    const last = items.at(-1);
    return { items, nextBefore: items.length === query.limit && last ? last.id : null };
  }
}
