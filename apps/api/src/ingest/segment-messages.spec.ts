import { describe, expect, it } from '@jest/globals';
import { parseMessage, type ParseOptions } from './segment-messages.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const live: ParseOptions = { missingId: 'random', receivedAt: NOW };

const reject = (raw: unknown, options: ParseOptions = live) => parseMessage(raw, 7, options).rejection?.error;

describe('parseMessage', () => {
  it('turns a track call into an event, taking the account from context.groupId', () => {
    const { message } = parseMessage(
      {
        type: 'track',
        userId: 42,
        event: 'Report Created',
        messageId: 'm1',
        timestamp: '2026-03-01T10:00:00+02:00',
        properties: { size: 3 },
        context: { groupId: 'acme' },
      },
      0,
      live,
    );
    expect(message).toEqual({
      index: 0,
      messageId: 'm1',
      timestamp: '2026-03-01T08:00:00.000Z',
      type: 'track',
      name: 'Report Created',
      userId: '42',
      anonymousId: null,
      groupId: 'acme',
      properties: '{"size":3}',
    });
  });

  it('names pages from name, then properties.name or path, and keeps the category', () => {
    const { message } = parseMessage(
      { type: 'page', anonymousId: 'a', category: 'Docs', properties: { path: '/start', accountId: 'acme' } },
      0,
      live,
    );
    expect(message).toMatchObject({
      name: '/start',
      groupId: 'acme',
      properties: '{"path":"/start","accountId":"acme","category":"Docs"}',
    });
  });

  it('generates a random id on live routes and a content-derived id on /v1/import', () => {
    const raw = { type: 'track', userId: 'u', event: 'e', timestamp: '2026-03-01T10:00:00Z' };
    const a = parseMessage(raw, 0, live).message!.messageId;
    const b = parseMessage(raw, 0, live).message!.messageId;
    expect(a).toMatch(/^gen-[0-9a-f-]{36}$/);
    expect(a).not.toBe(b);
    const historical: ParseOptions = { missingId: 'content', receivedAt: NOW };
    const c = parseMessage({ ...raw, sentAt: '1' }, 0, historical).message!.messageId;
    const d = parseMessage({ ...raw, sentAt: '2' }, 0, historical).message!.messageId;
    expect(c).toMatch(/^h-[0-9a-f]{32}$/);
    expect(c).toBe(d);
  });

  it('reads account columns from group traits and keeps the others as traits', () => {
    const { message } = parseMessage(
      {
        type: 'group',
        groupId: 'g',
        userId: 'u',
        traits: { name: 'G', monthlySpend: '99.5', employees: 12, industry: 'x' },
      },
      0,
      live,
    );
    expect(message).toMatchObject({
      account: { name: 'G', mrr: 99.5, employees: 12, plan: null },
      traits: { industry: 'x' },
    });
  });

  it.each([
    ['not an object', 'hello', 'INVALID_FIELD', 'item: must be a JSON object'],
    [
      'no identity',
      { type: 'track', event: 'e' },
      'MISSING_IDENTITY',
      'userId or anonymousId: one is required',
    ],
    [
      'anonymous identify',
      { type: 'identify', anonymousId: 'a' },
      'MISSING_IDENTITY',
      'userId: identify needs a userId',
    ],
    ['track without event', { type: 'track', userId: 'u' }, 'MISSING_FIELD', 'event: required for track'],
    ['group without groupId', { type: 'group', userId: 'u' }, 'MISSING_FIELD', 'groupId: required for group'],
    ['alias without previousId', { type: 'alias', userId: 'u' }, 'MISSING_IDENTITY', 'alias: needs both'],
    ['unknown type', { type: 'teleport', userId: 'u' }, 'UNSUPPORTED_TYPE', 'type: "teleport" is not one of'],
    [
      'userId object',
      { type: 'track', userId: { a: 1 }, event: 'e' },
      'INVALID_FIELD',
      'userId: must be a string or a number',
    ],
    [
      'properties string',
      { type: 'track', userId: 'u', event: 'e', properties: 'x' },
      'INVALID_FIELD',
      'properties: must be an object',
    ],
    [
      'bad timestamp',
      { type: 'track', userId: 'u', event: 'e', timestamp: '2026-13-45T00:00:00Z' },
      'INVALID_TIMESTAMP',
      'timestamp: "2026-13-45T00:00:00Z"',
    ],
    [
      'far future',
      { type: 'track', userId: 'u', event: 'e', timestamp: '2026-03-05T00:00:00Z' },
      'INVALID_TIMESTAMP',
      'more than a day ahead',
    ],
    [
      'bad mrr',
      { type: 'group', groupId: 'g', userId: 'u', traits: { mrr: 'lots' } },
      'INVALID_FIELD',
      'traits.mrr: must be a number',
    ],
    [
      'oversize',
      { type: 'track', userId: 'u', event: 'e', properties: { p: 'x'.repeat(33_000) } },
      'ITEM_TOO_LARGE',
      'properties: 33 KB is over the 32 KB limit',
    ],
  ])('refuses %s with %s', (_name, raw, code, message) => {
    const error = reject(raw);
    expect(error).toMatchObject({ index: 7, code });
    expect(error!.message).toContain(message);
  });

  it('reports the messageId of a refused item', () => {
    expect(reject({ type: 'track', messageId: 'abc', event: 'e' })).toMatchObject({ messageId: 'abc' });
  });
});
