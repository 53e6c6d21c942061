import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';

/**
 * Bounds the ingest work in flight: `concurrency` requests write at once, `queueLimit` more wait,
 * and the next one is turned away with 429 at once. Overload then costs clients a retry, never the
 * server its memory. Per process, on purpose: each API copy protects itself.
 */
export class IngestLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly queueLimit: number,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.queueLimit) {
      throw new AppException(ErrorCode.TooManyRequests, 'Ingest is at capacity; retry after a short pause', {
        retryAfterSeconds: 1,
      });
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
