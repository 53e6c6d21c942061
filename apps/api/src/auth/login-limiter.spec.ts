import { describe, expect, it } from '@jest/globals';
import { LoginLimiter } from './login-limiter.js';

describe('LoginLimiter', () => {
  it('blocks an address and email after the allowed failures, for the rest of the window', async () => {
    const limiter = new LoginLimiter(3, 900);
    for (let i = 0; i < 2; i++) await limiter.failed('10.0.0.1', 'a@x.io');
    expect(await limiter.blockedFor('10.0.0.1', 'a@x.io')).toBe(0);
    await limiter.failed('10.0.0.1', 'a@x.io');
    const wait = await limiter.blockedFor('10.0.0.1', 'a@x.io');
    expect(wait).toBeGreaterThan(890);
    expect(wait).toBeLessThanOrEqual(900);
  });

  it('counts each address and email apart: another email or address is not blocked', async () => {
    const limiter = new LoginLimiter(2);
    await limiter.failed('10.0.0.1', 'a@x.io');
    await limiter.failed('10.0.0.1', 'a@x.io');
    expect(await limiter.blockedFor('10.0.0.1', 'a@x.io')).toBeGreaterThan(0);
    expect(await limiter.blockedFor('10.0.0.1', 'b@x.io')).toBe(0);
    expect(await limiter.blockedFor('10.0.0.2', 'a@x.io')).toBe(0);
  });

  it('clears the count on a success', async () => {
    const limiter = new LoginLimiter(2);
    await limiter.failed('10.0.0.1', 'a@x.io');
    await limiter.succeeded('10.0.0.1', 'a@x.io');
    await limiter.failed('10.0.0.1', 'a@x.io');
    expect(await limiter.blockedFor('10.0.0.1', 'a@x.io')).toBe(0);
  });

  it('blocks an address that tries many emails, at ten times the per-email limit', async () => {
    const limiter = new LoginLimiter(2);
    for (let i = 0; i < 19; i++) await limiter.failed('10.0.0.9', `user${i}@x.io`);
    expect(await limiter.blockedFor('10.0.0.9', 'new@x.io')).toBe(0);
    await limiter.failed('10.0.0.9', 'user19@x.io');
    expect(await limiter.blockedFor('10.0.0.9', 'new@x.io')).toBeGreaterThan(0);
  });
});
