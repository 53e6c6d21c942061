import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_WEBHOOK_POLICY,
  isRetryableStatus,
  retryDelayMs,
  signWebhookBody,
} from './webhook-delivery.service.js';

describe('webhook delivery policy', () => {
  it('doubles the wait after each failure, with up to half of it random, up to the cap', () => {
    const policy = { ...DEFAULT_WEBHOOK_POLICY, baseDelayMs: 1_000, maxDelayMs: 10_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, policy, () => 0))).toEqual([
      500, 1_000, 2_000, 4_000, 5_000, 5_000,
    ]);
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, policy, () => 0.999_999))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000,
    ]);
  });

  it('retries server errors, timeouts and rate limits, not other answers', () => {
    expect([500, 502, 503, 504, 408, 429].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 410, 301].some(isRetryableStatus)).toBe(false);
  });

  it('signs the raw body with HMAC-SHA256 under the secret', () => {
    const body = '{"deliveryId":"x","members":[]}';
    expect(signWebhookBody('whsec_test', body)).toBe(
      `sha256=${createHmac('sha256', 'whsec_test').update(body).digest('hex')}`,
    );
    // A published HMAC-SHA256 test vector (RFC 4231, test case 2).
    expect(signWebhookBody('Jefe', 'what do ya want for nothing?')).toBe(
      'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
});
