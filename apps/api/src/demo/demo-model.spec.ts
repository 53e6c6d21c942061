import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_DENSITY,
  DAY_MS,
  accountEvents,
  accountTickets,
  densityScale,
  planAccounts,
  type DemoAccount,
  type DemoOptions,
  type DemoTicketRow,
} from './demo-model.js';
import { ADVANCED_FEATURES } from './demo-catalog.js';

const options = (over: Partial<DemoOptions> = {}): DemoOptions => ({
  accounts: 600,
  days: 60,
  seed: 7,
  end: new Date('2026-06-01T00:00:00Z'),
  ...DEFAULT_DENSITY,
  ...over,
});

const o = options();
const accounts = planAccounts(o);
const scale = densityScale(accounts, o);
const eventsOf = (a: DemoAccount) => [...accountEvents(a, o, scale.events)];
const ticketsOf = (a: DemoAccount) => [...accountTickets(a, o, scale.tickets)];
const allTickets: (DemoTicketRow & { account: DemoAccount })[] = accounts.flatMap((a) =>
  ticketsOf(a).map((t) => ({ ...t, account: a })),
);
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

describe('demo data model', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const again = planAccounts(options());
    expect(again.map((a) => [a.externalId, a.mrr, a.tier, a.churnDay])).toEqual(
      accounts.map((a) => [a.externalId, a.mrr, a.tier, a.churnDay]),
    );
    expect([...accountEvents(again[3]!, o, scale.events)]).toEqual(eventsOf(accounts[3]!));
    const other = planAccounts(options({ seed: 8 }));
    expect(other.map((a) => a.mrr)).not.toEqual(accounts.map((a) => a.mrr));
  });

  it('has a few high-value enterprise accounts and a long tail of small SMB ones', () => {
    const byTier = (tier: string) => accounts.filter((a) => a.tier === tier);
    expect(byTier('enterprise').length).toBeGreaterThan(3);
    expect(byTier('enterprise').length).toBeLessThan(accounts.length * 0.05);
    expect(byTier('smb').length).toBeGreaterThan(accounts.length * 0.8);
    expect(Math.min(...byTier('enterprise').map((a) => a.mrr))).toBeGreaterThanOrEqual(5000);
    expect(Math.max(...byTier('smb').map((a) => a.mrr))).toBeLessThanOrEqual(300);
    expect(Math.min(...byTier('smb').map((a) => a.mrr))).toBeGreaterThanOrEqual(5);
    expect(byTier('enterprise').every((a) => a.owner !== null)).toBe(true);
    expect(byTier('smb').every((a) => a.owner === null)).toBe(true);
  });

  it('hits the requested event and ticket densities', () => {
    const events = accounts.reduce((n, a) => n + eventsOf(a).length, 0);
    const target = o.accounts * o.days * o.eventsPerAccountDay;
    expect(events / target).toBeGreaterThan(0.95);
    expect(events / target).toBeLessThan(1.1);
    const ticketTarget = o.accounts * o.days * o.ticketsPerAccountDay;
    expect(allTickets.length / ticketTarget).toBeGreaterThan(0.9);
    expect(allTickets.length / ticketTarget).toBeLessThan(1.1);
  });

  it('gives unique message ids and ticket ids', () => {
    const ids = accounts.flatMap((a) => eventsOf(a).map((e) => e.messageId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(allTickets.map((t) => t.externalId)).size).toBe(allTickets.length);
  });

  it('makes experts use advanced features and novices ask how-to questions', () => {
    const advanced = new Set<string>(ADVANCED_FEATURES);
    const advancedShare = (group: DemoAccount[]) => {
      const events = group.flatMap(eventsOf);
      return events.filter((e) => advanced.has(e.name)).length / events.length;
    };
    const alwaysExpert = accounts.filter((a) => a.expertFromDay === -Infinity);
    const novices = accounts.filter((a) => a.expertFromDay === null);
    expect(advancedShare(alwaysExpert)).toBeGreaterThan(0.3);
    expect(advancedShare(novices)).toBeLessThan(0.06);

    const howToShare = (tickets: typeof allTickets) =>
      tickets.filter((t) => t.tags.includes('how-to')).length / tickets.length;
    expect(howToShare(allTickets.filter((t) => t.account.expertFromDay === null))).toBeGreaterThan(0.5);
    expect(howToShare(allTickets.filter((t) => t.account.expertFromDay === -Infinity))).toBeLessThan(0.2);
  });

  it('lets accounts that churn fade out and stop before their churn date', () => {
    const start = o.end.getTime() - o.days * DAY_MS;
    const churners = accounts.filter((a) => a.churnDay !== null && a.churnDay > 45 && a.churnDay <= o.days);
    expect(churners.length).toBeGreaterThan(5);
    for (const a of churners) {
      const inWindow = eventsOf(a).filter((e) => e.timestamp.getTime() >= start);
      expect(inWindow.every((e) => e.timestamp.getTime() < start + a.churnDay! * DAY_MS)).toBe(true);
    }
    const early = (a: DemoAccount) =>
      eventsOf(a).filter((e) => (e.timestamp.getTime() - start) / DAY_MS < 15).length;
    const late = (a: DemoAccount) =>
      eventsOf(a).filter((e) => {
        const day = (e.timestamp.getTime() - start) / DAY_MS;
        return day >= a.churnDay! - 15 && day < a.churnDay!;
      }).length;
    const established = churners.filter((a) => a.createdAt.getTime() < start - 30 * DAY_MS);
    expect(mean(established.map(late))).toBeLessThan(0.5 * mean(established.map(early)));
  });

  it('makes churn more likely for slow support and low engagement', () => {
    const churnRate = (group: DemoAccount[]) =>
      group.filter((a) => a.churnDay !== null).length / group.length;
    expect(churnRate(accounts.filter((a) => a.supportPenalty > 2))).toBeGreaterThan(
      churnRate(accounts.filter((a) => a.supportPenalty < 1.5)),
    );
    expect(churnRate(accounts.filter((a) => a.engagement < 0.6))).toBeGreaterThan(
      churnRate(accounts.filter((a) => a.engagement > 1.1)),
    );
  });

  it('answers phone and chat in minutes, email and web in hours', () => {
    const median = (channel: string) => {
      const minutes = allTickets
        .filter((t) => t.channel === channel && t.firstResponseAt)
        .map((t) => (t.firstResponseAt!.getTime() - t.createdAt.getTime()) / 60_000)
        .sort((a, b) => a - b);
      return minutes[Math.floor(minutes.length / 2)]!;
    };
    expect(median('phone')).toBeLessThan(10);
    expect(median('chat')).toBeLessThan(15);
    expect(median('email')).toBeGreaterThan(60);
    expect(median('web')).toBeGreaterThan(median('email'));
  });

  it('makes CSAT fall with slow first replies and unsolved tickets', () => {
    const rated = allTickets.filter((t) => t.csatScore !== null);
    const satisfied = (t: DemoTicketRow) =>
      t.csatScale === 'good_bad' ? t.csatScore === 1 : t.csatScore! >= 4;
    const csat = (ts: DemoTicketRow[]) => ts.filter(satisfied).length / ts.length;
    const slow = rated.filter((t) => t.account.supportPenalty > 2.5);
    const fast = rated.filter((t) => t.account.supportPenalty < 1.2);
    expect(csat(fast)).toBeGreaterThan(csat(slow) + 0.1);
    expect(csat(rated.filter((t) => t.solvedAt))).toBeGreaterThan(csat(rated.filter((t) => !t.solvedAt)));
    expect(
      rated.every((t) => (t.csatScale === 'good_bad' ? [0, 1] : [1, 2, 3, 4, 5]).includes(t.csatScore!)),
    ).toBe(true);
  });

  it('never dates a first reply or solve after the end, nor before creation', () => {
    const end = o.end.getTime();
    for (const t of allTickets) {
      if (t.firstResponseAt) {
        expect(t.firstResponseAt.getTime()).toBeLessThan(end);
        expect(t.firstResponseAt.getTime()).toBeGreaterThanOrEqual(t.createdAt.getTime());
      }
      if (t.solvedAt) expect(t.firstResponseAt).not.toBeNull();
    }
  });
});
