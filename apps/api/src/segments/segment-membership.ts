import { Logger } from '@nestjs/common';
import type pg from 'pg';
import { FilterSchema, type FilterNode } from '@retain/contracts';
import { SEGMENT_FROM, compileFilter } from './segment-filter.js';

const logger = new Logger('Segments');

/**
 * Replaces one segment's members with the scored accounts its filter matches now, on the caller's
 * client and transaction. Throws a VALIDATION_FAILED before any query when the filter is bad.
 */
export async function replaceSegmentMembers(
  client: pg.ClientBase,
  segmentId: number,
  filter: FilterNode,
): Promise<number> {
  const where = compileFilter(filter, { firstParam: 2 });
  await client.query(`DELETE FROM custom_segment_members WHERE segment_id = $1`, [segmentId]);
  const inserted = await client.query(
    `INSERT INTO custom_segment_members (segment_id, account_id)
     SELECT $1, s.account_id FROM ${SEGMENT_FROM} WHERE ${where.sql}
     ON CONFLICT DO NOTHING`,
    [segmentId, ...where.params],
  );
  return inserted.rowCount ?? 0;
}

/**
 * Recomputes every saved segment's members inside the caller's transaction (the analytics run's
 * write, right after account_scores is replaced), so members always match the scores readers see.
 * A segment whose filter no longer compiles or fails in SQL is emptied and logged; it never fails
 * the run. Returns the member rows written.
 */
export async function refreshCustomSegmentMembers(client: pg.ClientBase): Promise<number> {
  // Locked in id order: a segment saved meanwhile waits, and its own recompute sees these members.
  const { rows } = await client.query<{ id: string; name: string; filter: unknown }>(
    `SELECT id, name, filter FROM custom_segments ORDER BY id FOR UPDATE`,
  );
  let written = 0;
  for (const segment of rows) {
    const id = Number(segment.id);
    await client.query(`SAVEPOINT custom_segment`);
    try {
      const parsed = FilterSchema.safeParse(segment.filter);
      if (!parsed.success) throw new Error('its stored filter is not a valid filter');
      written += await replaceSegmentMembers(client, id, parsed.data);
      await client.query(`RELEASE SAVEPOINT custom_segment`);
    } catch (error) {
      await client.query(`ROLLBACK TO SAVEPOINT custom_segment`);
      await client.query(`DELETE FROM custom_segment_members WHERE segment_id = $1`, [id]);
      logger.warn(
        `Custom segment ${id} (${segment.name}) emptied: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return written;
}
