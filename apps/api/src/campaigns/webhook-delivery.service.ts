import { createHmac } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WEBHOOK_ATTEMPT_HEADER, WEBHOOK_DELIVERY_HEADER, WEBHOOK_SIGNATURE_HEADER } from '@retain/contracts';
import {
  WebhookDeliveriesRepository,
  type AttemptResult,
  type ClaimedBatch,
} from './webhook-deliveries.repository.js';

/** How webhook batches are sent and retried. */
export interface WebhookPolicy {
  /** An attempt that has not been answered in this time is a failure (and retried). */
  timeoutMs: number;
  /** Attempts per batch before it is marked failed. */
  maxAttempts: number;
  /** Delay after the first failed attempt; it doubles with each further failure, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** How often the server looks for due batches. */
  intervalMs: number;
}

export const WEBHOOK_POLICY = Symbol('WEBHOOK_POLICY');

/** 8 attempts over about 2 minutes (1, 2, 4, ... 64 s, each with jitter), 10 s per attempt. */
export const DEFAULT_WEBHOOK_POLICY: WebhookPolicy = {
  timeoutMs: 10_000,
  maxAttempts: 8,
  baseDelayMs: 1_000,
  maxDelayMs: 600_000,
  intervalMs: 1_000,
};

/** The signature header's value: `sha256=` and the hex HMAC-SHA256 of the raw body under the secret. */
export const signWebhookBody = (secret: string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;

/**
 * Wait before the attempt after failed attempt `attempt` (1-based): exponential, capped, with
 * "equal jitter" (half fixed, half random), so receivers that fail together are not retried together.
 */
export function retryDelayMs(
  attempt: number,
  policy: WebhookPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Server errors, timeouts and rate limits may pass; any other answer will not change by retrying. */
export const isRetryableStatus = (status: number): boolean =>
  status >= 500 || status === 408 || status === 429;

interface Answer {
  httpStatus: number | null;
  error: string | null;
  retryable: boolean;
}

export interface DeliveryRound {
  delivered: number;
  retrying: number;
  failed: number;
}

/**
 * Sends campaigns' webhook batches: each is POSTed as JSON with its id, attempt number and
 * HMAC-SHA256 signature in headers, retried with exponential backoff and jitter on 5xx, 408, 429,
 * timeouts and connection errors, up to maxAttempts; each attempt is logged. Batches are claimed
 * from the database with a lease, so API copies share the work and a crashed sender's batch is
 * taken over when its lease ends (the receiver may then see a batch id twice, never a new member).
 */
@Injectable()
export class WebhookDeliveryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CampaignWebhooks');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    @Inject(WEBHOOK_POLICY) private readonly policy: WebhookPolicy,
    @Optional() private readonly http?: HttpAdapterHost,
  ) {}

  /** The server sends; CLI commands (an application context without HTTP) never do. */
  onApplicationBootstrap(): void {
    if (!this.http?.httpAdapter) return;
    this.timer = setInterval(() => void this.tick(), this.policy.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One scheduled round; never throws, and never overlaps the previous one. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = (async () => {
      try {
        const round = await this.deliverDue();
        if (round.delivered + round.retrying + round.failed > 0)
          this.logger.log(
            `Webhook batches: ${round.delivered} delivered, ${round.retrying} to retry, ${round.failed} failed`,
          );
      } catch (error) {
        this.logger.error(`Webhook delivery round failed: ${error instanceof Error ? error.message : error}`);
      }
    })();
    await this.running;
    this.running = null;
  }

  /**
   * Sends every batch due when the round starts, one after another, up to `limit`: a batch that
   * fails waits for a later round, however short its delay. Tests call it directly.
   */
  async deliverDue(limit = 100): Promise<DeliveryRound> {
    const round: DeliveryRound = { delivered: 0, retrying: 0, failed: 0 };
    const dueBy = new Date();
    for (let i = 0; i < limit; i++) {
      const batch = await this.deliveries.claim(this.policy.timeoutMs + 30_000, dueBy);
      if (!batch) break;
      const result = await this.attempt(batch);
      if (result.status === 'delivered') round.delivered++;
      else if (result.status === 'pending') round.retrying++;
      else round.failed++;
    }
    return round;
  }

  private async attempt(batch: ClaimedBatch): Promise<AttemptResult> {
    const startedAt = new Date();
    const answer: Answer =
      batch.attempt > this.policy.maxAttempts
        ? { httpStatus: null, error: 'no attempts left', retryable: false }
        : await this.post(batch);
    const durationMs = Date.now() - startedAt.getTime();
    const succeeded = answer.error === null;
    const result: AttemptResult = succeeded
      ? { status: 'delivered' }
      : answer.retryable && batch.attempt < this.policy.maxAttempts
        ? {
            status: 'pending',
            nextAttemptAt: new Date(Date.now() + retryDelayMs(batch.attempt, this.policy)),
            error: answer.error!,
          }
        : { status: 'failed', error: answer.error! };
    if (!succeeded)
      this.logger.warn(
        `Webhook batch ${batch.id} (campaign ${batch.campaignId}) attempt ${batch.attempt}: ${answer.error}` +
          (result.status === 'pending' ? `; retry at ${result.nextAttemptAt.toISOString()}` : '; given up'),
      );
    await this.deliveries.settle(
      { deliveryId: batch.id, attempt: batch.attempt, startedAt, durationMs, succeeded, ...answer },
      result,
    );
    return result;
  }

  private async post(batch: ClaimedBatch): Promise<Answer> {
    const body = JSON.stringify(batch.body);
    try {
      const response = await fetch(batch.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Retain-Webhook/1',
          [WEBHOOK_DELIVERY_HEADER]: batch.id,
          [WEBHOOK_ATTEMPT_HEADER]: String(batch.attempt),
          [WEBHOOK_SIGNATURE_HEADER]: signWebhookBody(batch.secret, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.policy.timeoutMs),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300)
        return { httpStatus: response.status, error: null, retryable: false };
      return {
        httpStatus: response.status,
        error: `answered ${response.status}${response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : ''}`,
        retryable: isRetryableStatus(response.status),
      };
    } catch (error) {
      return { httpStatus: null, error: describeFailure(error, this.policy.timeoutMs), retryable: true };
    }
  }
}

/** A short reason for a request that got no answer: a timeout or the connection's error code. */
function describeFailure(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const cause = e?.cause?.code ?? e?.cause?.message;
  return `connection failed${cause ? `: ${cause}` : e?.message ? `: ${e.message}` : ''}`;
}
