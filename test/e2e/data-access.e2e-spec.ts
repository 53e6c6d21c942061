import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  Account360Schema,
  AccountListSchema,
  AnalyticsRunListSchema,
  AuditLogPageSchema,
  CampaignListSchema,
  CampaignMembersPageSchema,
  ErrorBodySchema,
  OwnerListSchema,
  SegmentMembersPageSchema,
  SegmentSchema,
  SupportCommentsSchema,
  type AuditEntry,
  type Role,
} from '@retain/contracts';
import { createApiToken, withToken } from '../support/auth.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { freePort, runRetain, waitUntilUp, type RetainProcess } from '../support/retain-process.js';

jest.setTimeout(180_000);

const MASKED = /^[^@*]\*\*\*@[^@]+$/;

/**
 * What each role sees of the customer data: an account manager only the accounts they own, roles
 * without contacts:email only masked addresses, and every export in the audit log.
 */
describe('data access by role, on demo data', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  const as: Partial<Record<Role | 'otherManager', typeof fetch>> = {};
  let owner: string;
  let otherOwner: string;
  let managerTokenId: number;

  const call = (role: keyof typeof as, path: string, init?: RequestInit) =>
    as[role]!(`${retain.baseUrl}${path}`, init);
  const json = async (role: keyof typeof as, path: string): Promise<unknown> => {
    const res = await call(role, path);
    expect(res.status).toBe(200);
    return res.json();
  };
  const audit = async (action: string): Promise<AuditEntry[]> =>
    AuditLogPageSchema.parse(await json('admin', `/api/audit-log?action=${action}`)).entries;

  beforeAll(async () => {
    db = await createTestDatabase('data_access');
    retain = runRetain(
      { DATABASE_URL: db.url, DEMO_DATA: 'true', DEMO_ACCOUNTS: '200', DEMO_DAYS: '60', LOG_LEVEL: 'warn' },
      await freePort(),
    );
    await waitUntilUp(retain);
    [{ owner }, { owner: otherOwner }] = await db.query<{ owner: string }>(
      `SELECT owner FROM accounts WHERE owner IS NOT NULL GROUP BY owner ORDER BY count(*) DESC, owner LIMIT 2`,
    );
    for (const role of ['admin', 'cs_manager', 'marketing', 'viewer'] as const)
      as[role] = withToken(await createApiToken(db.url, role));
    as.account_manager = withToken(await createApiToken(db.url, 'account_manager', owner));
    as.otherManager = withToken(await createApiToken(db.url, 'account_manager', otherOwner));
    managerTokenId = (
      await db.query<{ id: number }>(`SELECT id::int FROM api_tokens WHERE owner_email = $1`, [owner])
    )[0]!.id;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const { runs } = AnalyticsRunListSchema.parse(await json('admin', '/api/jobs/analytics/runs'));
      if (runs.some((r) => r.status === 'succeeded')) break;
      if (Date.now() > deadline) throw new Error('the first analytics run did not finish');
      await new Promise((r) => setTimeout(r, 250));
    }
  });
  afterAll(async () => {
    await retain?.stop();
    await db?.drop();
  });

  describe('an account manager', () => {
    it('lists exactly the accounts they own: the same rows an admin gets by filtering on that owner', async () => {
      const mine = AccountListSchema.parse(
        await json('account_manager', '/api/accounts?limit=500&includeChurned=true'),
      );
      const filtered = AccountListSchema.parse(
        await json('admin', `/api/accounts?limit=500&includeChurned=true&owner=${encodeURIComponent(owner)}`),
      );
      const everyone = AccountListSchema.parse(
        await json('admin', '/api/accounts?limit=500&includeChurned=true'),
      );
      expect(mine.rows.length).toBeGreaterThan(0);
      expect(mine.rows.every((r) => r.owner === owner)).toBe(true);
      expect(mine.rows.map((r) => r.id)).toEqual(filtered.rows.map((r) => r.id));
      expect(mine.total).toBe(filtered.total);
      expect(everyone.total).toBeGreaterThan(mine.total);
    });

    it("is refused another owner's list with a 403 that names the owner field", async () => {
      const res = await call('account_manager', `/api/accounts?owner=${encodeURIComponent(otherOwner)}`);
      expect(res.status).toBe(403);
      const body = ErrorBodySchema.parse(await res.json());
      expect(body.error.code).toBe('FORBIDDEN');
      expect(body.error.details).toMatchObject({ fields: [{ path: 'owner' }] });
    });

    it("opens their own account's pages, gets 403 for another owner's and 404 for none", async () => {
      const [own] = await db.query<{ id: number }>(`SELECT id::int FROM accounts WHERE owner = $1 LIMIT 1`, [
        owner,
      ]);
      const [other] = await db.query<{ id: number }>(
        `SELECT id::int FROM accounts WHERE owner = $1 LIMIT 1`,
        [otherOwner],
      );
      const [unowned] = await db.query<{ id: number }>(
        `SELECT id::int FROM accounts WHERE owner IS NULL LIMIT 1`,
      );
      expect(
        Account360Schema.parse(await json('account_manager', `/api/accounts/${own!.id}`)).account.owner,
      ).toBe(owner);
      for (const path of ['', '/activity', '/tickets']) {
        expect((await call('account_manager', `/api/accounts/${own!.id}${path}`)).status).toBe(200);
        expect((await call('account_manager', `/api/accounts/${other!.id}${path}`)).status).toBe(403);
        expect((await call('account_manager', `/api/accounts/${unowned!.id}${path}`)).status).toBe(403);
        expect((await call('otherManager', `/api/accounts/${other!.id}${path}`)).status).toBe(200);
      }
      expect((await call('account_manager', '/api/accounts/99999999')).status).toBe(404);
    });

    it('sees only themselves among the owners', async () => {
      const owners = OwnerListSchema.parse(await json('account_manager', '/api/owners'));
      expect(owners.owners.map((o) => o.owner)).toEqual([owner]);
      expect(OwnerListSchema.parse(await json('admin', '/api/owners')).owners.length).toBeGreaterThan(1);
    });

    it("exports only their accounts as CSV, and the export is in the audit log under the token's name", async () => {
      const res = await call('account_manager', '/api/accounts/export.csv?includeChurned=true');
      expect(res.status).toBe(200);
      const lines = (await res.text()).trim().split('\r\n');
      const header = lines[0]!.split(',');
      const ownerAt = header.indexOf('owner');
      expect(ownerAt).toBeGreaterThanOrEqual(0);
      const rows = lines.slice(1);
      const [{ n }] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM accounts a JOIN account_scores s ON s.account_id = a.id WHERE a.owner = $1`,
        [owner],
      );
      expect(rows).toHaveLength(n);
      expect(rows.every((line) => line.split(',')[ownerAt] === owner)).toBe(true);
      const entries = await audit('export.accounts');
      expect(entries.some((e) => e.actor === `token:${managerTokenId}`)).toBe(true);
    });

    it("sees only their own accounts among a custom segment's members", async () => {
      const created = await call('admin', '/api/segments', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'Owned accounts',
          filter: { field: 'tier', op: 'in', value: ['enterprise', 'mid_market'] },
        }),
      });
      expect(created.status).toBe(201);
      const segment = SegmentSchema.parse(await created.json());
      const members = async (role: 'admin' | 'account_manager') =>
        SegmentMembersPageSchema.parse(await json(role, `/api/segments/${segment.id}/members?limit=500`))
          .members;
      const all = await members('admin');
      const mine = await members('account_manager');
      const ownedIds = new Set(
        (await db.query<{ id: number }>(`SELECT id::int FROM accounts WHERE owner = $1`, [owner])).map(
          (r) => r.id,
        ),
      );
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.map((m) => m.accountId)).toEqual(
        all.map((m) => m.accountId).filter((id) => ownedIds.has(id)),
      );
    });

    it('reads only the CSAT comments of the accounts they own', async () => {
      const page = (role: 'account_manager' | 'admin') =>
        json(role, '/api/support/comments?limit=100').then((b) => SupportCommentsSchema.parse(b).comments);
      const [mine, all] = await Promise.all([page('account_manager'), page('admin')]);
      const owned = new Set(
        (await db.query<{ id: number }>(`SELECT id::int FROM accounts WHERE owner = $1`, [owner])).map(
          (r) => r.id,
        ),
      );
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((c) => c.accountId !== null && owned.has(c.accountId))).toBe(true);
      const [{ n }] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tickets t JOIN accounts a ON a.id = t.account_id
         WHERE a.owner = $1 AND t.csat_comment IS NOT NULL AND t.csat_score IS NOT NULL AND btrim(t.csat_comment) <> ''`,
        [owner],
      );
      expect(mine).toHaveLength(Math.min(n, 100));
      expect(all.some((c) => c.accountId === null || !owned.has(c.accountId))).toBe(true);
    });

    it('may not export every score nor touch campaigns', async () => {
      expect((await call('account_manager', '/api/scores/export')).status).toBe(403);
      expect((await call('account_manager', '/api/campaigns')).status).toBe(403);
    });
  });

  describe('contact emails', () => {
    it('are masked for a viewer on the account page, and whole for a CS manager', async () => {
      const [account] = await db.query<{ id: number }>(
        `SELECT account_id::int AS id FROM contacts WHERE email IS NOT NULL GROUP BY account_id ORDER BY count(*) DESC LIMIT 1`,
      );
      const full = Account360Schema.parse(await json('cs_manager', `/api/accounts/${account!.id}`)).contacts
        .rows;
      const masked = Account360Schema.parse(await json('viewer', `/api/accounts/${account!.id}`)).contacts
        .rows;
      expect(full.length).toBeGreaterThan(0);
      expect(masked.map((c) => c.id)).toEqual(full.map((c) => c.id));
      for (const [i, contact] of full.entries()) {
        expect(contact.email).toContain('@');
        expect(contact.email).not.toMatch(MASKED);
        expect(masked[i]!.email).toMatch(MASKED);
        expect(masked[i]!.email).toBe(
          `${contact.email![0]}***${contact.email!.slice(contact.email!.lastIndexOf('@'))}`,
        );
      }
    });

    it("are masked for a viewer among a campaign's members; a viewer may not export the audience", async () => {
      const { campaigns } = CampaignListSchema.parse(await json('viewer', '/api/campaigns'));
      expect(campaigns.length).toBeGreaterThan(0);
      const id = campaigns[0]!.id;
      const page = (role: 'viewer' | 'marketing') =>
        json(role, `/api/campaigns/${id}/members?limit=50`).then(
          (b) => CampaignMembersPageSchema.parse(b).members,
        );
      const [seen, whole] = await Promise.all([page('viewer'), page('marketing')]);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.map((m) => m.contactId)).toEqual(whole.map((m) => m.contactId));
      expect(seen.every((m) => MASKED.test(m.email))).toBe(true);
      expect(whole.some((m) => MASKED.test(m.email))).toBe(false);
      expect((await call('viewer', `/api/campaigns/${id}/export.csv`)).status).toBe(403);
    });
  });

  describe('the audit log', () => {
    it('records audience and score exports, each with who did it', async () => {
      const { campaigns } = CampaignListSchema.parse(await json('marketing', '/api/campaigns'));
      const id = campaigns[0]!.id;
      const exported = await call('marketing', `/api/campaigns/${id}/export.csv`);
      expect(exported.status).toBe(200);
      await exported.text();
      const scores = await call('cs_manager', '/api/scores/export');
      expect(scores.status).toBe(200);
      await scores.text();
      const [audience] = await audit('export.audience');
      expect(audience).toMatchObject({
        action: 'export.audience',
        target: `campaign:${id}`,
        actorLabel: 'test marketing',
      });
      const [score] = await audit('export.scores');
      expect(score).toMatchObject({ action: 'export.scores', actorLabel: 'test cs_manager' });
    });

    it('is for admins only', async () => {
      for (const role of ['cs_manager', 'account_manager', 'marketing', 'viewer'] as const)
        expect((await call(role, '/api/audit-log')).status).toBe(403);
    });
  });
});
