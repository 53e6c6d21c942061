import { describe, expect, it } from '@jest/globals';
import { AudienceSchema, SuppressionSchema, type AudienceInput } from '@retain/contracts';
import {
  SqlParams,
  audienceCondition,
  audienceFieldList,
  heldOut,
  suppressionReason,
} from './audience-sql.js';

const compile = (input: AudienceInput) => {
  const params = new SqlParams();
  return { sql: audienceCondition(AudienceSchema.parse(input), params), params: params.values };
};

describe('audience SQL', () => {
  it('keeps contacts with an email at accounts in any chosen base or custom segment, then filters', () => {
    const { sql, params } = compile({
      segments: ['smb-novice', '12', 'smb-novice', 'smb-expert'],
      filter: { field: 'contact.role', op: 'eq', value: 'admin' },
    });
    expect(sql).toBe(
      `c.email ~ '^[^@[:space:]]+@[^@[:space:]]+$'\n` +
        `  AND (s.segment = ANY($1::text[]) OR EXISTS (SELECT 1 FROM custom_segment_members m\n` +
        `               WHERE m.account_id = a.id AND m.segment_id = ANY($2::bigint[])))\n` +
        `  AND (c.traits->>'role') = $3::text`,
    );
    expect(params).toEqual([['smb-novice', 'smb-expert'], ['12'], 'admin']);
  });

  it('means every scored account when no segment is chosen, and adds the primary-contact rule', () => {
    const { sql, params } = compile({ segments: [], primaryContactOnly: true });
    expect(sql).not.toContain('segment');
    expect(sql).toContain(
      "ORDER BY COALESCE(lower(p.traits->>'primary') IN ('true', '1', 'yes'), false) DESC",
    );
    expect(params).toEqual([]);
  });

  it('names the filter’s bad parts under audience.filter before any query', () => {
    expect(() =>
      compile({ segments: [], filter: { all: [{ field: 'mrr; DROP TABLE accounts', op: 'eq', value: 1 }] } }),
    ).toThrow('audience.filter.all.0.field: unknown field "mrr; DROP TABLE accounts"');
  });

  it('turns suppression into the first reason that applies, with bound values', () => {
    const params = new SqlParams(['x']);
    const sql = suppressionReason(
      SuppressionSchema.parse({ recentlyContactedDays: 14, frequencyCap: { max: 3, days: 30 } }),
      { contactId: 'f.contact_id', unsubscribed: 'f.unsubscribed' },
      params,
    );
    expect(sql).toMatch(
      /^CASE WHEN f\.unsubscribed THEN 'unsubscribed' WHEN EXISTS .* THEN 'recent' WHEN .* THEN 'capped' END$/s,
    );
    expect(sql).toContain("r.member_group = 'contacted'");
    expect(params.values).toEqual(['x', 14, 30, 3]);
    expect(
      suppressionReason(
        SuppressionSchema.parse({ unsubscribed: false }),
        { contactId: 'c.id', unsubscribed: 'u' },
        params,
      ),
    ).toBe('NULL::text');
  });

  it('draws the holdout from a hash of the salt and the account', () => {
    expect(heldOut('j.account_id', '$1', '$2')).toBe(
      "(('x' || substr(md5($1 || ':' || j.account_id::text), 1, 8))::bit(32)::bigint / 42949672.96 < $2)",
    );
  });

  it('lists account and contact fields, each once, with contact traits', () => {
    const list = audienceFieldList();
    const names = list.fields.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect(list.fields.find((f) => f.name === 'contact.last_seen_at')).toMatchObject({
      type: 'timestamp',
      source: 'contact',
    });
    expect(names).toEqual(
      expect.arrayContaining(['churn_risk', 'events_30d', 'contact.role', 'contact.email_domain']),
    );
    expect(list.contactTraits.prefix).toBe('contact.trait.');
  });
});
