import { describe, expect, it } from '@jest/globals';
import { AudienceSchema } from '@retain/contracts';
import { DEMO_CAMPAIGNS, planDemoCampaigns, unsubscribedContacts } from './demo-campaigns.js';
import { DAY_MS, DEFAULT_DENSITY, planAccounts } from './demo-model.js';

const OPTIONS = {
  accounts: 2_000,
  days: 120,
  seed: 7,
  end: new Date('2026-06-01T00:00:00Z'),
  ...DEFAULT_DENSITY,
};

describe('demo campaigns', () => {
  const accounts = planAccounts(OPTIONS);
  const plans = planDemoCampaigns(accounts, OPTIONS);

  it('plans the same campaigns for the same seed, without touching the accounts', () => {
    const again = planAccounts(OPTIONS);
    expect(planDemoCampaigns(again, OPTIONS)).toEqual(plans);
    expect(again).toEqual(accounts);
    expect(unsubscribedContacts(accounts, OPTIONS)).toEqual(unsubscribedContacts(again, OPTIONS));
  });

  it('stores audiences the API accepts', () => {
    for (const d of DEMO_CAMPAIGNS) expect(AudienceSchema.parse(d.audience)).toEqual(d.audience);
  });

  it('draws about a fifth of the accounts into the holdout, and converts only inside the window', () => {
    for (const plan of plans) {
      const held = plan.members.filter((m) => m.group === 'holdout').length / plan.members.length;
      expect(held).toBeGreaterThan(0.12);
      expect(held).toBeLessThan(0.28);
      const windowMs = plan.definition.goal.windowDays * DAY_MS;
      for (const m of plan.members.filter((m) => m.converted)) {
        const after = m.converted!.getTime() - plan.sentAt.getTime();
        expect(after).toBeGreaterThan(0);
        expect(after).toBeLessThan(windowMs);
        expect(m.converted!.getTime()).toBeLessThan(OPTIONS.end.getTime());
      }
    }
  });

  it('leaves campaigns out when the history is too short for their window', () => {
    expect(planDemoCampaigns(accounts, { ...OPTIONS, days: 30 })).toEqual([]);
  });

  it('never unsubscribes an account’s primary (first) contact', () => {
    const unsubscribed = new Set(unsubscribedContacts(accounts, OPTIONS));
    expect(unsubscribed.size).toBeGreaterThan(0);
    expect(accounts.some((a) => unsubscribed.has(a.contacts[0]!.externalId))).toBe(false);
  });
});
