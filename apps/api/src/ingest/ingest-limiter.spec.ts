import { describe, expect, it } from '@jest/globals';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { IngestLimiter } from './ingest-limiter.js';

describe('IngestLimiter', () => {
  it('runs up to `concurrency` at once, queues up to `queueLimit`, and turns the next away with 429', async () => {
    const limiter = new IngestLimiter(2, 1);
    const gates: (() => void)[] = [];
    const started: number[] = [];
    const job = (n: number) =>
      limiter.run(
        () =>
          new Promise<number>((resolve) => {
            started.push(n);
            gates.push(() => resolve(n));
          }),
      );
    const running = [job(1), job(2), job(3)];
    await Promise.resolve();
    expect(started).toEqual([1, 2]);
    expect(limiter.queued).toBe(1);
    const refused = job(4);
    await expect(refused).rejects.toBeInstanceOf(AppException);
    await expect(refused).rejects.toMatchObject({ code: ErrorCode.TooManyRequests });
    gates[0]!();
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual([1, 2, 3]);
    gates[1]!();
    gates[2]!();
    expect(await Promise.all(running)).toEqual([1, 2, 3]);
    expect(limiter.inFlight).toBe(0);
  });

  it('frees its slot when the work fails', async () => {
    const limiter = new IngestLimiter(1, 0);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run(() => Promise.resolve('ok'))).toBe('ok');
  });
});
