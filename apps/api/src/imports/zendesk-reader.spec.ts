import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ImportFileError } from './csv-reader.js';
import { readZendesk, type ZendeskItem } from './zendesk-reader.js';

function fixture(name: string): string {
  return readFileSync(new URL(`./__fixtures__/zendesk/${name}`, import.meta.url), 'utf8');
}

function read(text: string): ZendeskItem[] {
  return [...readZendesk(text)];
}

function fileError(text: string): string {
  try {
    read(text);
  } catch (error) {
    if (error instanceof ImportFileError) return error.message;
    throw error;
  }
  throw new Error('no ImportFileError');
}

const HINT = '(use ISO 8601, e.g. 2026-03-01T10:00:00Z)';
const KEYS =
  'one of the keys tickets, ticket, metric_sets, ticket_metrics, ticket_metric, satisfaction_ratings, ' +
  'satisfaction_rating (as the Zendesk API returns them)';

describe('readZendesk', () => {
  it('reads a page of /api/v2/tickets', () => {
    expect(read(fixture('tickets-page.json'))).toStrictEqual([
      {
        kind: 'ticket',
        index: 0,
        record: {
          externalId: '35436',
          accountExternalId: '509974',
          contactExternalId: '20978392',
          channel: 'web',
          channelDetail: null,
          subject: 'Cannot log in after password reset',
          priority: 'high',
          status: 'solved',
          createdAt: new Date('2026-02-02T09:15:00Z'),
          tags: ['enterprise', 'login'],
          csatScore: 1,
          csatScale: 'good_bad',
          csatComment: 'Thanks, fixed quickly!',
        },
      },
      {
        kind: 'ticket',
        index: 1,
        record: {
          externalId: '35437',
          accountExternalId: '509974',
          contactExternalId: '20978393',
          channel: 'email',
          channelDetail: null,
          subject: 'Refund for the duplicate invoice',
          priority: 'normal',
          status: 'open',
          createdAt: new Date('2026-02-03T14:05:10Z'),
          tags: ['billing', 'refund'],
        },
      },
      {
        kind: 'ticket',
        index: 2,
        record: {
          externalId: '35438',
          accountExternalId: null,
          contactExternalId: '20978394',
          channel: 'web',
          channelDetail: 'api',
          subject: 'Webhook deliveries failing with 502',
          priority: null,
          status: 'new',
          createdAt: new Date('2026-02-04T20:30:00Z'),
          tags: [],
        },
      },
    ]);
  });

  it('reads the incremental export with metric sets, deleted tickets and Zendesk-only channels', () => {
    const items = read(fixture('incremental-tickets.json'));
    expect(items.map((item) => [item.kind, item.index])).toEqual([
      ['ticket', 0],
      ['ticket', 1],
      ['ticket', 2],
      ['ticket', 3],
      ['update', 4],
      ['update', 5],
    ]);
    expect(items[0]).toMatchObject({
      record: { externalId: '35437', status: 'solved', csatScore: 0, csatScale: 'good_bad' },
    });
    expect(items[0]).toMatchObject({ record: { csatComment: 'Took far too long to get my money back' } });
    expect(items[1]).toMatchObject({
      record: {
        externalId: '35439',
        channel: 'chat',
        channelDetail: 'native_messaging',
        accountExternalId: '509975',
      },
    });
    expect(items[1]?.kind === 'ticket' && 'csatScore' in items[1].record).toBe(false);
    expect(items[2]).toMatchObject({
      record: { externalId: '35440', status: 'deleted', subject: 'test please ignore' },
    });
    expect(items[3]).toMatchObject({
      record: {
        externalId: '35441',
        channel: 'web',
        channelDetail: 'sample_ticket',
        accountExternalId: null,
      },
    });
    expect(items[4]).toStrictEqual({
      kind: 'update',
      index: 4,
      update: {
        externalId: '35437',
        firstResponseMinutes: 95,
        firstResponseBusinessMinutes: 35,
        solvedAt: new Date('2026-03-01T18:20:00Z'),
      },
    });
    // No reply yet: the reply time stays undefined rather than null.
    expect(items[5]).toStrictEqual({
      kind: 'update',
      index: 5,
      update: { externalId: '35439', solvedAt: null },
    });
  });

  it('reads /api/v2/ticket_metrics', () => {
    expect(read(fixture('ticket-metrics.json'))).toStrictEqual([
      {
        kind: 'update',
        index: 0,
        update: {
          externalId: '35436',
          firstResponseMinutes: 12,
          firstResponseBusinessMinutes: 12,
          solvedAt: new Date('2026-02-02T11:02:45Z'),
        },
      },
      {
        kind: 'update',
        index: 1,
        update: {
          externalId: '99999',
          firstResponseMinutes: 240,
          firstResponseBusinessMinutes: 60,
          solvedAt: new Date('2026-02-10T12:00:00Z'),
        },
      },
    ]);
  });

  it('reads /api/v2/satisfaction_ratings, skipping offered surveys', () => {
    expect(read(fixture('satisfaction-ratings.json'))).toStrictEqual([
      {
        kind: 'update',
        index: 0,
        update: {
          externalId: '35436',
          csatScore: 1,
          csatScale: 'good_bad',
          csatComment: 'Thanks, fixed quickly!',
          csatRatedAt: new Date('2026-02-03T16:40:12Z'),
        },
      },
      {
        kind: 'update',
        index: 1,
        update: {
          externalId: '35437',
          csatScore: 0,
          csatScale: 'good_bad',
          csatComment: 'Took far too long to get my money back',
          csatRatedAt: new Date('2026-03-02T10:00:00Z'),
        },
      },
      {
        kind: 'update',
        index: 3,
        update: {
          externalId: '99999',
          csatScore: 1,
          csatScale: 'good_bad',
          csatComment: null,
          csatRatedAt: new Date('2026-02-11T09:00:00Z'),
        },
      },
    ]);
  });

  it('reads a JSON array of pages and NDJSON, counting items across pages', () => {
    const pages = ['tickets-page.json', 'ticket-metrics.json'].map(
      (name) => JSON.parse(fixture(name)) as Record<string, unknown>,
    );
    const expected = [
      ['ticket', 0, '35436'],
      ['ticket', 1, '35437'],
      ['ticket', 2, '35438'],
      ['update', 3, '35436'],
      ['update', 4, '99999'],
    ];
    const summary = (items: ZendeskItem[]): unknown[] =>
      items.map((item) => [
        item.kind,
        item.index,
        item.kind === 'ticket'
          ? item.record.externalId
          : item.kind === 'update'
            ? item.update.externalId
            : null,
      ]);
    expect(summary(read(JSON.stringify(pages, null, 2)))).toEqual(expected);
    expect(summary(read(`${pages.map((page) => JSON.stringify(page)).join('\r\n')}\r\n\r\n`))).toEqual(
      expected,
    );
    expect(summary(read(`\uFEFF${JSON.stringify(pages[0])}`))).toEqual(expected.slice(0, 3));
  });

  it('reads single-object answers and ignores other side-loads', () => {
    const items = read(
      JSON.stringify({
        ticket: { id: 7, via: { channel: 'voice' }, created_at: '2026-03-01T10:00:00Z', status: 'Pending' },
        ticket_metric: { ticket_id: 7, reply_time_in_minutes: { calendar: 3.5, business: null } },
        satisfaction_rating: { ticket_id: 7, score: 'Bad', comment: '', created_at: '2026-03-02T10:00:00Z' },
        users: [{ id: 1 }],
        organizations: [{ id: 2 }],
      }),
    );
    expect(items).toStrictEqual([
      {
        kind: 'ticket',
        index: 0,
        record: {
          externalId: '7',
          accountExternalId: null,
          contactExternalId: null,
          channel: 'phone',
          channelDetail: 'voice',
          subject: null,
          priority: null,
          status: 'pending',
          createdAt: new Date('2026-03-01T10:00:00Z'),
        },
      },
      { kind: 'update', index: 1, update: { externalId: '7', firstResponseMinutes: 3.5 } },
      {
        kind: 'update',
        index: 2,
        update: {
          externalId: '7',
          csatScore: 0,
          csatScale: 'good_bad',
          csatComment: null,
          csatRatedAt: new Date('2026-03-02T10:00:00Z'),
        },
      },
    ]);
  });

  it('takes the ticket without a via as web, and an undocumented embedded rating as none', () => {
    const [item] = read(
      JSON.stringify({
        tickets: [
          { id: '12', created_at: 1772359200, raw_subject: 'Hi', satisfaction_rating: { score: 'meh' } },
        ],
      }),
    );
    expect(item).toStrictEqual({
      kind: 'ticket',
      index: 0,
      record: {
        externalId: '12',
        accountExternalId: null,
        contactExternalId: null,
        channel: 'web',
        channelDetail: null,
        subject: 'Hi',
        priority: null,
        status: 'open',
        createdAt: new Date('2026-03-01T10:00:00Z'),
      },
    });
  });

  it('yields bad items as errors, with the id when known, and goes on', () => {
    const items = read(
      JSON.stringify({
        tickets: [
          { via: { channel: 'web' }, created_at: '2026-03-01T10:00:00Z' },
          { id: 1, created_at: '2026-13-45' },
          { id: 2 },
          { id: true, created_at: '2026-03-01' },
          'ticket',
          { id: 3, created_at: '2026-03-01' },
        ],
        ticket_metrics: [{ ticket_id: 1, reply_time_in_minutes: { calendar: '12' } }, { id: 5 }],
        satisfaction_ratings: [
          { ticket_id: 1, score: 'great' },
          { ticket_id: 2, score: 'good', updated_at: 'yesterday' },
          { ticket_id: 3, score: 'unoffered' },
        ],
      }),
    );
    expect(items).toStrictEqual([
      { kind: 'error', index: 0, externalId: null, code: 'MISSING_FIELD', message: 'id: is required' },
      {
        kind: 'error',
        index: 1,
        externalId: '1',
        code: 'INVALID_TIMESTAMP',
        message: `created_at: "2026-13-45" is not a date or timestamp ${HINT}`,
      },
      { kind: 'error', index: 2, externalId: '2', code: 'MISSING_FIELD', message: 'created_at: is required' },
      {
        kind: 'error',
        index: 3,
        externalId: null,
        code: 'INVALID_FIELD',
        message: 'id: true is not a ticket id',
      },
      {
        kind: 'error',
        index: 4,
        externalId: null,
        code: 'INVALID_FIELD',
        message: 'ticket: expected an object, got "ticket"',
      },
      {
        kind: 'ticket',
        index: 5,
        record: {
          externalId: '3',
          accountExternalId: null,
          contactExternalId: null,
          channel: 'web',
          channelDetail: null,
          subject: null,
          priority: null,
          status: 'open',
          createdAt: new Date('2026-03-01T00:00:00Z'),
        },
      },
      {
        kind: 'error',
        index: 6,
        externalId: '1',
        code: 'INVALID_FIELD',
        message: 'reply_time_in_minutes.calendar: must be a number >= 0, got "12"',
      },
      { kind: 'error', index: 7, externalId: null, code: 'MISSING_FIELD', message: 'ticket_id: is required' },
      {
        kind: 'error',
        index: 8,
        externalId: '1',
        code: 'INVALID_FIELD',
        message: 'score: "great" is not a Zendesk rating (good, bad, offered or unoffered)',
      },
      {
        kind: 'error',
        index: 9,
        externalId: '2',
        code: 'INVALID_TIMESTAMP',
        message: `updated_at: "yesterday" is not a date or timestamp ${HINT}`,
      },
    ]);
  });

  it('yields a bad key or a bad NDJSON line as an error', () => {
    const text = [
      JSON.stringify({ tickets: { id: 1 }, ticket_metrics: null }),
      '{"tickets": [',
      '[1, 2]',
      JSON.stringify({ ticket_metric: { ticket_id: 9, solved_at: '2026-03-01T10:00:00Z' } }),
    ].join('\n');
    const items = read(text);
    expect(items.slice(0, 3)).toStrictEqual([
      {
        kind: 'error',
        index: 0,
        externalId: null,
        code: 'INVALID_FIELD',
        message: 'tickets: expected an array',
      },
      {
        kind: 'error',
        index: 1,
        externalId: null,
        code: 'INVALID_JSON',
        message: expect.stringMatching(/^line 2: not valid JSON \(.+\)$/),
      },
      {
        kind: 'error',
        index: 2,
        externalId: null,
        code: 'INVALID_JSON',
        message: 'line 3: expected a JSON object (one Zendesk API page per line)',
      },
    ]);
    expect(items[3]).toStrictEqual({
      kind: 'update',
      index: 3,
      update: { externalId: '9', solvedAt: new Date('2026-03-01T10:00:00Z') },
    });
  });

  describe('file errors', () => {
    it('refuses an empty file', () => {
      expect(fileError(' \n')).toBe(`The file is empty: expected Zendesk API JSON with ${KEYS}`);
    });

    it('refuses text that is not JSON', () => {
      expect(fileError('id,subject\n1,Hello\n')).toMatch(/^The file is not valid JSON or NDJSON \(.+\)$/);
      expect(fileError('{"tickets": [}')).toMatch(/^The file is not valid JSON or NDJSON \(.+\)$/);
      expect(fileError('{\n  "tickets": [\n  }\n')).toMatch(/^The file is not valid JSON or NDJSON \(.+\)$/);
    });

    it('refuses JSON that is not objects', () => {
      expect(fileError('42')).toBe('The file is JSON 42, not an object: expected Zendesk API pages');
      expect(fileError('[{"tickets": []}, "x"]')).toBe(
        'Item 1 of the JSON array is "x", not an object: expected Zendesk API pages',
      );
    });

    it('refuses JSON without any Zendesk key, naming the keys found', () => {
      expect(fileError('{"users": [], "count": 0}')).toBe(
        `No Zendesk data in the file: expected JSON objects with ${KEYS}. Keys found: users, count.`,
      );
      expect(fileError('[]')).toBe(`No Zendesk data in the file: expected JSON objects with ${KEYS}.`);
    });

    it('accepts pages whose lists are empty', () => {
      expect(read('{"tickets": [], "end_of_stream": true, "after_cursor": null}')).toEqual([]);
    });
  });
});
