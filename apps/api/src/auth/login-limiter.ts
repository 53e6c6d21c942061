import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Failed sign-ins, counted per address and email (a guessed password) and per address alone
 * (many emails tried). Past either limit, sign-in answers 429 until the window ends, even with the
 * right password. A success clears its address-and-email count. Counts live in this process.
 */
export class LoginLimiter {
  private readonly perEmail: RateLimiterMemory;
  private readonly perIp: RateLimiterMemory;

  constructor(
    private readonly maxPerEmail: number,
    windowSeconds = 15 * 60,
  ) {
    this.perEmail = new RateLimiterMemory({ points: maxPerEmail, duration: windowSeconds });
    this.perIp = new RateLimiterMemory({ points: maxPerEmail * 10, duration: windowSeconds });
  }

  /** Seconds until the next attempt is allowed, or 0 if it is allowed now. */
  async blockedFor(ip: string, email: string): Promise<number> {
    const [byEmail, byIp] = await Promise.all([this.perEmail.get(`${ip}|${email}`), this.perIp.get(ip)]);
    const wait = (res: RateLimiterRes | null, limit: number): number =>
      res && res.consumedPoints >= limit ? Math.ceil(res.msBeforeNext / 1000) : 0;
    return Math.max(wait(byEmail, this.maxPerEmail), wait(byIp, this.maxPerEmail * 10));
  }

  async failed(ip: string, email: string): Promise<void> {
    await Promise.all([this.perEmail.penalty(`${ip}|${email}`, 1), this.perIp.penalty(ip, 1)]);
  }

  async succeeded(ip: string, email: string): Promise<void> {
    await this.perEmail.delete(`${ip}|${email}`);
  }
}
