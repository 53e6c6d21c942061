import { describe, expect, it } from '@jest/globals';
import { eventsFullExtract } from './analytics-extract.repository.js';

const wheres = (specs: { query: string }[]) => specs.map((s) => s.query.replace(/^[\s\S]*\bWHERE /, ''));

describe('eventsFullExtract', () => {
  it('splits the table into contiguous page ranges, the last open-ended, each up to the watermark id', () => {
    const specs = eventsFullExtract({ minId: 1n, maxId: 1000n, pages: 100 }, 8);
    expect(wheres(specs)).toEqual([
      `ctid >= '(0,0)'::tid AND ctid < '(13,0)'::tid AND id <= 1000`,
      `ctid >= '(13,0)'::tid AND ctid < '(26,0)'::tid AND id <= 1000`,
      `ctid >= '(26,0)'::tid AND ctid < '(39,0)'::tid AND id <= 1000`,
      `ctid >= '(39,0)'::tid AND ctid < '(52,0)'::tid AND id <= 1000`,
      `ctid >= '(52,0)'::tid AND ctid < '(65,0)'::tid AND id <= 1000`,
      `ctid >= '(65,0)'::tid AND ctid < '(78,0)'::tid AND id <= 1000`,
      `ctid >= '(78,0)'::tid AND ctid < '(91,0)'::tid AND id <= 1000`,
      `ctid >= '(91,0)'::tid AND id <= 1000`,
    ]);
    expect(specs.every((s) => s.table === 'events')).toBe(true);
  });

  it('reads a table of fewer pages than streams as one range per page, and an empty one as one range', () => {
    expect(wheres(eventsFullExtract({ minId: 1n, maxId: 5n, pages: 2 }, 8))).toEqual([
      `ctid >= '(0,0)'::tid AND ctid < '(1,0)'::tid AND id <= 5`,
      `ctid >= '(1,0)'::tid AND id <= 5`,
    ]);
    expect(wheres(eventsFullExtract({ minId: 1n, maxId: 5n, pages: 0 }, 8))).toEqual([
      `ctid >= '(0,0)'::tid AND id <= 5`,
    ]);
  });

  it('falls back to id ranges without page counts (PostgreSQL before 14), and reads nothing without events', () => {
    expect(wheres(eventsFullExtract({ minId: 1n, maxId: 10n, pages: null }, 3))).toEqual([
      'id BETWEEN 1 AND 4',
      'id BETWEEN 5 AND 8',
      'id BETWEEN 9 AND 10',
    ]);
    expect(wheres(eventsFullExtract({ minId: 1n, maxId: 0n, pages: 7 }, 3))).toEqual(['false']);
  });
});
