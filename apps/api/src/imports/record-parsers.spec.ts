import { describe, expect, it } from '@jest/globals';
import {
  normalizeChannel,
  parseAccountRow,
  parseContactRow,
  parseDateOnly,
  parseTicketRow,
  parseTimestamp,
  RowFieldError,
  typedTraitValue,
} from './record-parsers.js';

const HINT = '(use ISO 8601, e.g. 2026-03-01T10:00:00Z)';

function timestampError(raw: unknown, column = 'created_at'): string {
  try {
    parseTimestamp(raw, column);
  } catch (error) {
    if (error instanceof RowFieldError) return `${error.code} ${error.message}`;
    throw error;
  }
  throw new Error(`${String(raw)} was accepted`);
}

describe('parseTimestamp', () => {
  it.each([
    ['2026-03-01', '2026-03-01T00:00:00.000Z'],
    ['2026-03-01T10:00:00Z', '2026-03-01T10:00:00.000Z'],
    ['2026-03-01T10:00:00z', '2026-03-01T10:00:00.000Z'],
    ['2026-03-01 10:00:00+02', '2026-03-01T08:00:00.000Z'],
    ['2026-03-01T10:00:00-05:30', '2026-03-01T15:30:00.000Z'],
    ['2026-03-01T10:00:00+0130', '2026-03-01T08:30:00.000Z'],
    ['2026-03-01T10:00:00.123456Z', '2026-03-01T10:00:00.123Z'],
    ['2026-03-01T10:00:00.5Z', '2026-03-01T10:00:00.500Z'],
    ['2026-03-01T10:00', '2026-03-01T10:00:00.000Z'],
    ['2026-03-01 10:00:00', '2026-03-01T10:00:00.000Z'],
    ['2026-03-01 10:00:00 UTC', '2026-03-01T10:00:00.000Z'],
    ['  2026-03-01T10:00:00Z ', '2026-03-01T10:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['1772359200', '2026-03-01T10:00:00.000Z'],
    ['1772359200000', '2026-03-01T10:00:00.000Z'],
  ])('reads %j', (raw, iso) => {
    expect(parseTimestamp(raw, 'created_at').toISOString()).toBe(iso);
  });

  it('reads epoch seconds and milliseconds given as numbers, and Dates', () => {
    expect(parseTimestamp(1772359200, 'created_at').toISOString()).toBe('2026-03-01T10:00:00.000Z');
    expect(parseTimestamp(1772359200.25, 'created_at').toISOString()).toBe('2026-03-01T10:00:00.250Z');
    expect(parseTimestamp(1772359200123, 'created_at').toISOString()).toBe('2026-03-01T10:00:00.123Z');
    expect(parseTimestamp(new Date('2026-03-01T10:00:00Z'), 'created_at').toISOString()).toBe(
      '2026-03-01T10:00:00.000Z',
    );
  });

  it('refuses nonsense, naming the column and the value', () => {
    expect(timestampError('2026-13-45')).toBe(
      `INVALID_TIMESTAMP created_at: "2026-13-45" is not a date or timestamp ${HINT}`,
    );
    expect(timestampError('yesterday', 'solved_at')).toBe(
      `INVALID_TIMESTAMP solved_at: "yesterday" is not a date or timestamp ${HINT}`,
    );
    expect(timestampError('2025-02-29')).toBe(
      `INVALID_TIMESTAMP created_at: "2025-02-29" is not a date or timestamp ${HINT}`,
    );
    expect(timestampError('2026-03-01T24:00:00Z')).toContain('is not a date or timestamp');
    expect(timestampError('2026-03-01T10:60Z')).toContain('is not a date or timestamp');
    expect(timestampError('03/01/2026')).toContain('is not a date or timestamp');
    expect(timestampError('20260301')).toContain('is not a date or timestamp');
    expect(timestampError(true)).toBe(
      `INVALID_TIMESTAMP created_at: true is not a date or timestamp ${HINT}`,
    );
    expect(timestampError(Number.NaN)).toContain('is not a date or timestamp');
    expect(timestampError({ at: 1 })).toBe(
      `INVALID_TIMESTAMP created_at: an object is not a date or timestamp ${HINT}`,
    );
  });

  it('refuses years before 1970 and after 2100', () => {
    expect(timestampError('1969-12-31T23:59:59Z')).toBe(
      'INVALID_TIMESTAMP created_at: "1969-12-31T23:59:59Z" is outside the accepted years 1970 to 2100',
    );
    expect(timestampError('1970-01-01T00:30:00+01:00')).toContain('outside the accepted years');
    expect(timestampError('2101-01-01')).toContain('outside the accepted years');
    expect(timestampError(-5)).toBe(
      'INVALID_TIMESTAMP created_at: -5 is outside the accepted years 1970 to 2100',
    );
    expect(parseTimestamp('2100-12-31T23:59:59Z', 'x').toISOString()).toBe('2100-12-31T23:59:59.000Z');
    expect(parseTimestamp('1970-01-01', 'x').getTime()).toBe(0);
  });
});

describe('parseDateOnly', () => {
  it('keeps the date as written, or takes the UTC date of a timestamp', () => {
    expect(parseDateOnly('2026-09-30', 'renewal_date')).toBe('2026-09-30');
    expect(parseDateOnly('2026-09-30T23:00:00-05:00', 'renewal_date')).toBe('2026-09-30');
    expect(parseDateOnly(1772359200, 'renewal_date')).toBe('2026-03-01');
  });
});

describe('typedTraitValue', () => {
  it('types numbers, booleans and leaves out empty values', () => {
    expect(typedTraitValue('12')).toBe(12);
    expect(typedTraitValue(' -3.5 ')).toBe(-3.5);
    expect(typedTraitValue('0')).toBe(0);
    expect(typedTraitValue('0.25')).toBe(0.25);
    expect(typedTraitValue('true')).toBe(true);
    expect(typedTraitValue('FALSE')).toBe(false);
    expect(typedTraitValue('')).toBeUndefined();
    expect(typedTraitValue('   ')).toBeUndefined();
    expect(typedTraitValue(null)).toBeUndefined();
    expect(typedTraitValue(undefined)).toBeUndefined();
  });

  it('keeps id-like and other text as strings', () => {
    expect(typedTraitValue('007')).toBe('007');
    expect(typedTraitValue('1234567890123456')).toBe('1234567890123456');
    expect(typedTraitValue('123456789012345')).toBe(123456789012345);
    expect(typedTraitValue('1e5')).toBe('1e5');
    expect(typedTraitValue('12.')).toBe('12.');
    expect(typedTraitValue('+12')).toBe('+12');
    expect(typedTraitValue('1,200')).toBe('1,200');
    expect(typedTraitValue(' Enterprise ')).toBe('Enterprise');
    expect(typedTraitValue('yes')).toBe('yes');
  });

  it('keeps JSON values as they are', () => {
    expect(typedTraitValue(42)).toBe(42);
    expect(typedTraitValue(false)).toBe(false);
    expect(typedTraitValue(['a', 'b'])).toEqual(['a', 'b']);
    expect(typedTraitValue({ a: 1 })).toEqual({ a: 1 });
    expect(typedTraitValue(Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});

describe('normalizeChannel', () => {
  it.each([
    ['email', 'email'],
    ['E-mail', 'email'],
    ['mail', 'email'],
    ['chat', 'chat'],
    ['Live Chat', 'chat'],
    ['livechat', 'chat'],
    ['native_messaging', 'chat'],
    ['chat_transcript', 'chat'],
    ['SMS', 'chat'],
    ['voice', 'phone'],
    ['Telephone', 'phone'],
    ['call', 'phone'],
    ['web_form', 'web'],
    ['api', 'web'],
    ['help_center', 'web'],
    ['in-app', 'web'],
    ['mobile_sdk', 'web'],
    ['web_widget', 'web'],
    ['portal', 'web'],
    ['WhatsApp', 'social'],
    ['facebook', 'social'],
    ['twitter', 'social'],
    ['instagram_dm', 'social'],
    ['line', 'social'],
    ['wechat', 'social'],
    ['any_channel', 'social'],
    [' social ', 'social'],
  ])('%j is %s', (word, channel) => {
    expect(normalizeChannel(word)).toBe(channel);
  });

  it('returns null for unknown words', () => {
    expect(normalizeChannel('pigeon')).toBeNull();
    expect(normalizeChannel('rule')).toBeNull();
    expect(normalizeChannel('')).toBeNull();
    expect(normalizeChannel('constructor')).toBeNull();
    expect(normalizeChannel('__proto__')).toBeNull();
  });
});

describe('parseAccountRow', () => {
  it('reads a full CSV row, typing the known columns and the traits', () => {
    const result = parseAccountRow({
      external_id: ' acme-1 ',
      name: 'Acme Corp',
      plan: 'Enterprise',
      mrr: '$1,250.50',
      seats: '40',
      employees: '1200',
      region: 'EMEA',
      owner: 'dana@retain.test',
      created_at: '2024-01-15',
      churned_at: '',
      renewal_date: '2026-09-30',
      'Health Score': '72',
      'Is Partner': 'true',
      'Zip Code': '02139',
      Notes: '',
      'Salesforce Id': '0013000000ABCDEF',
    });
    expect(result).toStrictEqual({
      ok: true,
      value: {
        externalId: 'acme-1',
        name: 'Acme Corp',
        plan: 'Enterprise',
        mrr: 1250.5,
        seats: 40,
        employees: 1200,
        region: 'EMEA',
        owner: 'dana@retain.test',
        createdAt: new Date('2024-01-15T00:00:00Z'),
        churnedAt: null,
        renewalDate: '2026-09-30',
        traits: {
          'Health Score': 72,
          'Is Partner': true,
          'Zip Code': '02139',
          'Salesforce Id': '0013000000ABCDEF',
        },
      },
    });
  });

  it('leaves absent columns out and turns empty ones into null', () => {
    expect(parseAccountRow({ external_id: 'a1', name: 'A', plan: null, mrr: '' })).toStrictEqual({
      ok: true,
      value: { externalId: 'a1', name: 'A', plan: null, mrr: null, traits: {} },
    });
  });

  it('reads JSON values: numbers, numeric ids, arrays as traits', () => {
    expect(
      parseAccountRow({
        external_id: 42,
        name: 'B',
        mrr: 99.5,
        seats: 3,
        tiers: ['a'],
        active: false,
        gone: null,
      }),
    ).toStrictEqual({
      ok: true,
      value: { externalId: '42', name: 'B', mrr: 99.5, seats: 3, traits: { tiers: ['a'], active: false } },
    });
  });

  it('requires external_id and name', () => {
    expect(parseAccountRow({ name: 'A' })).toStrictEqual({
      ok: false,
      error: { externalId: null, code: 'MISSING_FIELD', message: 'external_id: is required' },
    });
    expect(parseAccountRow({ external_id: '  ', name: 'A' })).toStrictEqual({
      ok: false,
      error: { externalId: null, code: 'MISSING_FIELD', message: 'external_id: is required and was empty' },
    });
    expect(parseAccountRow({ external_id: 'a1', name: '' })).toStrictEqual({
      ok: false,
      error: { externalId: 'a1', code: 'MISSING_FIELD', message: 'name: is required and was empty' },
    });
  });

  it('refuses bad numbers, naming the column', () => {
    const error = (values: Record<string, unknown>): unknown => {
      const result = parseAccountRow({ external_id: 'a1', name: 'A', ...values });
      return result.ok ? result : result.error;
    };
    expect(error({ mrr: 'lots' })).toEqual({
      externalId: 'a1',
      code: 'INVALID_FIELD',
      message: 'mrr: "lots" is not a number',
    });
    expect(error({ mrr: '-5' })).toEqual({
      externalId: 'a1',
      code: 'INVALID_FIELD',
      message: 'mrr: must be a number >= 0, got "-5"',
    });
    expect(error({ seats: '12.5' })).toEqual({
      externalId: 'a1',
      code: 'INVALID_FIELD',
      message: 'seats: must be a whole number >= 0, got "12.5"',
    });
    expect(error({ employees: -1 })).toEqual({
      externalId: 'a1',
      code: 'INVALID_FIELD',
      message: 'employees: must be a whole number >= 0, got -1',
    });
    expect(error({ seats: '$5' })).toEqual({
      externalId: 'a1',
      code: 'INVALID_FIELD',
      message: 'seats: "$5" is not a number',
    });
    expect(error({ plan: { tier: 1 } })).toEqual({
      externalId: 'a1',
      code: 'INVALID_FIELD',
      message: 'plan: expected text, got an object',
    });
  });

  it('refuses bad timestamps and dates', () => {
    expect(parseAccountRow({ external_id: 'a1', name: 'A', churned_at: 'soon' })).toStrictEqual({
      ok: false,
      error: {
        externalId: 'a1',
        code: 'INVALID_TIMESTAMP',
        message: `churned_at: "soon" is not a date or timestamp ${HINT}`,
      },
    });
    expect(parseAccountRow({ external_id: 'a1', name: 'A', renewal_date: '2026-02-30' })).toStrictEqual({
      ok: false,
      error: {
        externalId: 'a1',
        code: 'INVALID_TIMESTAMP',
        message: `renewal_date: "2026-02-30" is not a date or timestamp ${HINT}`,
      },
    });
  });

  it('keeps a __proto__ column as a plain trait', () => {
    const result = parseAccountRow(
      JSON.parse('{"external_id":"a1","name":"A","__proto__":"x"}') as Record<string, unknown>,
    );
    expect(result.ok && Object.getOwnPropertyDescriptor(result.value.traits, '__proto__')?.value).toBe('x');
    expect(result.ok && Object.getPrototypeOf(result.value.traits)).toBe(Object.prototype);
  });
});

describe('parseContactRow', () => {
  it('reads a contact with traits', () => {
    expect(
      parseContactRow({
        external_id: 'u-1',
        account_external_id: 'acme-1',
        email: ' ana@acme.example ',
        name: 'Ana',
        role: 'admin',
        logins: '17',
      }),
    ).toStrictEqual({
      ok: true,
      value: {
        externalId: 'u-1',
        accountExternalId: 'acme-1',
        email: 'ana@acme.example',
        name: 'Ana',
        traits: { role: 'admin', logins: 17 },
      },
    });
    expect(parseContactRow({ external_id: 7, account_external_id: 12, email: '' })).toStrictEqual({
      ok: true,
      value: { externalId: '7', accountExternalId: '12', email: null, traits: {} },
    });
  });

  it('refuses an invalid email', () => {
    for (const email of ['ana', 'ana@acme', 'ana @acme.example', 'ana@acme.']) {
      expect(parseContactRow({ external_id: 'u-1', email })).toStrictEqual({
        ok: false,
        error: {
          externalId: 'u-1',
          code: 'INVALID_FIELD',
          message: `email: ${JSON.stringify(email)} is not an email address`,
        },
      });
    }
  });

  it('requires external_id', () => {
    expect(parseContactRow({ email: 'a@b.co' })).toStrictEqual({
      ok: false,
      error: { externalId: null, code: 'MISSING_FIELD', message: 'external_id: is required' },
    });
  });
});

describe('parseTicketRow', () => {
  const base = { external_id: 't-1', channel: 'email', created_at: '2026-03-01T10:00:00Z' };
  const ticket = (values: Record<string, unknown>): unknown => {
    const result = parseTicketRow({ ...base, ...values });
    return result.ok ? result.value : result.error;
  };

  it('reads a full CSV row', () => {
    expect(
      parseTicketRow({
        external_id: 't-1',
        account_external_id: 'acme-1',
        contact_external_id: 'u-1',
        channel: 'Live Chat',
        subject: ' Cannot log in ',
        priority: 'High',
        status: 'Pending',
        tags: 'billing, vip ;; login',
        created_at: '2026-03-01T10:00:00Z',
        first_response_at: '2026-03-01T10:45:30Z',
        solved_at: '2026-03-02 09:00:00',
        first_response_business_minutes: '30',
        csat_score: '4',
        csat_comment: 'Quick, thanks',
        csat_rated_at: '2026-03-02T12:00:00Z',
        product_area: 'auth',
      }),
    ).toStrictEqual({
      ok: true,
      value: {
        externalId: 't-1',
        accountExternalId: 'acme-1',
        contactExternalId: 'u-1',
        channel: 'chat',
        channelDetail: 'Live Chat',
        subject: 'Cannot log in',
        priority: 'high',
        status: 'pending',
        tags: ['billing', 'vip', 'login'],
        createdAt: new Date('2026-03-01T10:00:00Z'),
        firstResponseAt: new Date('2026-03-01T10:45:30Z'),
        firstResponseMinutes: 45.5,
        firstResponseBusinessMinutes: 30,
        solvedAt: new Date('2026-03-02T09:00:00Z'),
        csatScore: 4,
        csatScale: 'five_point',
        csatComment: 'Quick, thanks',
        csatRatedAt: new Date('2026-03-02T12:00:00Z'),
      },
    });
  });

  it('keeps only what the row has; channel detail is null when the word was canonical', () => {
    expect(parseTicketRow(base)).toStrictEqual({
      ok: true,
      value: {
        externalId: 't-1',
        channel: 'email',
        channelDetail: null,
        createdAt: new Date('2026-03-01T10:00:00Z'),
      },
    });
    expect(ticket({ channel: ' EMAIL ' })).toMatchObject({ channel: 'email', channelDetail: null });
    expect(ticket({ channel: 'whatsapp' })).toMatchObject({ channel: 'social', channelDetail: 'whatsapp' });
  });

  it('leaves the status out when the row has none, so a stored status is kept', () => {
    expect(ticket({ solved_at: '2026-03-01T12:00:00Z' })).not.toHaveProperty('status');
    expect(ticket({ solved_at: '', status: '' })).toMatchObject({ solvedAt: null });
    expect(ticket({ status: '' })).not.toHaveProperty('status');
  });

  it('reads tags from lists and text', () => {
    expect(ticket({ tags: ['vip', ' billing ', '', 7, 'vip'] })).toMatchObject({
      tags: ['vip', 'billing', '7'],
    });
    expect(ticket({ tags: 'vip billing  urgent' })).toMatchObject({ tags: ['vip', 'billing', 'urgent'] });
    expect(ticket({ tags: 'needs reply;vip' })).toMatchObject({ tags: ['needs reply', 'vip'] });
    expect(ticket({ tags: '' })).toMatchObject({ tags: [] });
    expect(ticket({ tags: null })).toMatchObject({ tags: [] });
    expect(ticket({ tags: [{ a: 1 }] })).toEqual({
      externalId: 't-1',
      code: 'INVALID_FIELD',
      message: 'tags: expected text tags, got an object in the list',
    });
  });

  it('derives first_response_minutes only when it is not given', () => {
    expect(ticket({ first_response_at: '2026-03-01T10:00:30Z' })).toMatchObject({
      firstResponseMinutes: 0.5,
    });
    expect(ticket({ first_response_at: '2026-03-01T10:00:30Z', first_response_minutes: '3' })).toMatchObject({
      firstResponseMinutes: 3,
    });
    expect(ticket({ first_response_at: '' })).toMatchObject({
      firstResponseAt: null,
      firstResponseMinutes: null,
    });
    expect(ticket({ first_response_minutes: 12 })).toMatchObject({ firstResponseMinutes: 12 });
    expect(ticket({})).not.toHaveProperty('firstResponseMinutes');
  });

  it('refuses a first response before creation', () => {
    expect(ticket({ first_response_at: '2026-03-01T09:59:00Z' })).toEqual({
      externalId: 't-1',
      code: 'INVALID_FIELD',
      message: 'first_response_at: "2026-03-01T09:59:00Z" is before created_at "2026-03-01T10:00:00Z"',
    });
  });

  it('refuses negative or non-numeric minutes', () => {
    expect(ticket({ first_response_minutes: '-1' })).toEqual({
      externalId: 't-1',
      code: 'INVALID_FIELD',
      message: 'first_response_minutes: must be a number >= 0, got "-1"',
    });
    expect(ticket({ first_response_business_minutes: 'soon' })).toEqual({
      externalId: 't-1',
      code: 'INVALID_FIELD',
      message: 'first_response_business_minutes: "soon" is not a number',
    });
  });

  it('requires external_id, channel and created_at', () => {
    expect(parseTicketRow({ channel: 'email', created_at: '2026-03-01' })).toStrictEqual({
      ok: false,
      error: { externalId: null, code: 'MISSING_FIELD', message: 'external_id: is required' },
    });
    expect(ticket({ channel: '' })).toEqual({
      externalId: 't-1',
      code: 'MISSING_FIELD',
      message: 'channel: is required (one of chat, email, phone, web, social)',
    });
    expect(ticket({ created_at: undefined })).toEqual({
      externalId: 't-1',
      code: 'MISSING_FIELD',
      message: 'created_at: is required',
    });
    expect(ticket({ created_at: 'yesterday' })).toEqual({
      externalId: 't-1',
      code: 'INVALID_TIMESTAMP',
      message: `created_at: "yesterday" is not a date or timestamp ${HINT}`,
    });
  });

  it('refuses an unknown channel, listing the accepted ones', () => {
    expect(ticket({ channel: 'pigeon' })).toEqual({
      externalId: 't-1',
      code: 'INVALID_FIELD',
      message:
        'channel: "pigeon" is not a known channel (use one of chat, email, phone, web, social, ' +
        'or a synonym such as e-mail, live_chat, sms, voice, web_form, api, whatsapp)',
    });
  });

  describe('CSAT', () => {
    const csat = (values: Record<string, unknown>): unknown => {
      const result = parseTicketRow({ ...base, ...values });
      if (!result.ok) return result.error;
      const { csatScore, csatScale, csatComment, csatRatedAt } = result.value;
      return { csatScore, csatScale, csatComment, csatRatedAt };
    };

    it('reads five-point scores', () => {
      expect(csat({ csat_score: '5' })).toEqual({ csatScore: 5, csatScale: 'five_point' });
      expect(csat({ csat_score: 1, csat_scale: 'five_point' })).toEqual({
        csatScore: 1,
        csatScale: 'five_point',
      });
    });

    it('reads good/bad ratings', () => {
      expect(csat({ csat_score: 'Good', csat_comment: 'yay' })).toEqual({
        csatScore: 1,
        csatScale: 'good_bad',
        csatComment: 'yay',
      });
      expect(csat({ csat_score: 'BAD' })).toEqual({ csatScore: 0, csatScale: 'good_bad' });
      expect(csat({ csat_score: '0', csat_scale: 'good_bad' })).toEqual({
        csatScore: 0,
        csatScale: 'good_bad',
      });
      expect(csat({ csat_score: 1, csat_scale: 'Good/Bad' })).toEqual({
        csatScore: 1,
        csatScale: 'good_bad',
      });
    });

    it('reads offered, unoffered and empty as no rating', () => {
      for (const score of ['offered', 'Unoffered', '', null]) {
        expect(csat({ csat_score: score })).toEqual({ csatScore: null, csatScale: null });
      }
      expect(csat({})).toEqual({});
    });

    it('refuses anything else', () => {
      const hint = 'use 1 to 5, good or bad; offered, unoffered or empty for no rating';
      expect(csat({ csat_score: '7' })).toEqual({
        externalId: 't-1',
        code: 'INVALID_FIELD',
        message: `csat_score: "7" is not a rating (${hint})`,
      });
      expect(csat({ csat_score: 0 })).toEqual({
        externalId: 't-1',
        code: 'INVALID_FIELD',
        message: `csat_score: 0 is not a rating (${hint})`,
      });
      expect(csat({ csat_score: '4.5' })).toMatchObject({ code: 'INVALID_FIELD' });
      expect(csat({ csat_score: 'meh' })).toMatchObject({ code: 'INVALID_FIELD' });
      expect(csat({ csat_score: '3', csat_scale: 'good_bad' })).toEqual({
        externalId: 't-1',
        code: 'INVALID_FIELD',
        message: 'csat_score: "3" is not a rating (a good_bad score is good, bad, 1 or 0)',
      });
      expect(csat({ csat_score: 'good', csat_scale: 'five_point' })).toEqual({
        externalId: 't-1',
        code: 'INVALID_FIELD',
        message: 'csat_score: "good" is not a rating (a five_point score is 1 to 5)',
      });
      expect(csat({ csat_score: '3', csat_scale: 'stars' })).toEqual({
        externalId: 't-1',
        code: 'INVALID_FIELD',
        message: 'csat_scale: "stars" is not a known scale (use five_point or good_bad)',
      });
    });
  });
});

describe('values the columns cannot hold', () => {
  const account = (overrides: Record<string, unknown>) =>
    parseAccountRow({ external_id: 'acme', name: 'Acme', created_at: '2025-01-15T10:00:00Z', ...overrides });

  it('refuses numbers past the column ranges (numeric(14,2) money, integer counts), and infinities', () => {
    expect(account({ mrr: '1e400' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_FIELD', message: 'mrr: must be at most 999999999999.99, got "1e400"' },
    });
    expect(account({ seats: '2147483648' })).toMatchObject({
      ok: false,
      error: { message: 'seats: must be at most 2147483647, got "2147483648"' },
    });
    expect(account({ mrr: '999999999999.99', seats: '2147483647' })).toMatchObject({ ok: true });
  });

  it('refuses a row with a NUL character in any cell, naming the column', () => {
    expect(account({ name: 'Ac\u0000me' })).toEqual({
      ok: false,
      error: { externalId: null, code: 'INVALID_FIELD', message: 'name: must not contain NUL characters' },
    });
  });
});
