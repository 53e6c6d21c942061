import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogLevel } from '@nestjs/common';
import { envSchema, type Env } from './config.schema.js';

/** The repository root, found from this file's place in src/ or dist/. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface AppConfig {
  port: number;
  host: string;
  /** Set when the user names a PostgreSQL server; absent means "start the embedded one". */
  databaseUrl: string | undefined;
  dataDir: string;
  demo: {
    /** Fill an empty database with demo data at start. */
    enabled: boolean;
    accounts: number;
    days: number;
    seed: number;
  };
  embeddedPostgres: { port: number; dir: string };
  analytics: {
    cron: string;
    /** Support's working hours (Monday-Friday) for business-hours ASA. */
    businessHours: { startMinute: number; endMinute: number; timeZone: string };
  };
  /** Requests writing at once, and how many may wait before the next gets 429. */
  ingest: { concurrency: number; queueLimit: number };
  tiers: { enterpriseMinMrr: number; midMarketMinMrr: number; enterpriseMinSeats: number };
  auth: {
    /** Made sure to exist at start (an admin), with this password or a generated one printed once. */
    adminEmail: string | undefined;
    adminPassword: string | undefined;
    /** A session ends after this long unused, and at the latest this long after sign-in. */
    sessionIdleMinutes: number;
    sessionMaxHours: number;
    /** Failed sign-ins per address and email in 15 minutes before 429. */
    loginMaxFailures: number;
    /** Secure cookies: auto = when the request came over HTTPS. */
    cookieSecure: 'auto' | boolean;
  };
  logLevels: LogLevel[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const LEVELS: LogLevel[] = ['error', 'warn', 'log', 'debug', 'verbose'];

/**
 * Builds the one configuration object from the environment. Every bad variable is reported at
 * once, so a user fixes them in one go. This is the only place that reads process.env.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const relevant = Object.fromEntries(
    Object.keys(envSchema.shape).map((key) => [key, env[key] === '' ? undefined : env[key]]),
  );
  const parsed = envSchema.safeParse(relevant);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? 'environment');
        const value = relevant[name];
        return `${name}: ${issue.message}${value === undefined ? '' : ` (got "${value}")`}`;
      }),
    );
  }
  return toAppConfig(parsed.data);
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function toAppConfig(env: Env): AppConfig {
  const dataDir = path.resolve(env.DATA_DIR ?? path.join(REPO_ROOT, 'data'));
  return {
    port: env.PORT,
    host: env.HOST,
    databaseUrl: env.DATABASE_URL,
    dataDir,
    demo: {
      // Demo data never lands in a server the user named unless they ask for it.
      enabled: env.DEMO_DATA ?? env.DATABASE_URL === undefined,
      accounts: env.DEMO_ACCOUNTS,
      days: env.DEMO_DAYS,
      seed: env.DEMO_SEED,
    },
    embeddedPostgres: { port: env.EMBEDDED_PG_PORT, dir: path.join(dataDir, 'pg') },
    analytics: {
      cron: env.ANALYTICS_CRON,
      businessHours: {
        startMinute: minutesOf(env.BUSINESS_HOURS.slice(0, 5)),
        endMinute: minutesOf(env.BUSINESS_HOURS.slice(6)),
        timeZone: env.BUSINESS_TIMEZONE,
      },
    },
    ingest: { concurrency: env.INGEST_CONCURRENCY, queueLimit: env.INGEST_QUEUE_LIMIT },
    tiers: {
      enterpriseMinMrr: env.TIER_ENTERPRISE_MIN_MRR,
      midMarketMinMrr: env.TIER_MIDMARKET_MIN_MRR,
      enterpriseMinSeats: env.TIER_ENTERPRISE_MIN_SEATS,
    },
    auth: {
      adminEmail: env.ADMIN_EMAIL?.toLowerCase(),
      adminPassword: env.ADMIN_PASSWORD,
      sessionIdleMinutes: env.SESSION_IDLE_MINUTES,
      sessionMaxHours: env.SESSION_MAX_HOURS,
      loginMaxFailures: env.LOGIN_MAX_FAILURES,
      cookieSecure: env.COOKIE_SECURE === 'auto' ? 'auto' : env.COOKIE_SECURE === 'true',
    },
    logLevels: LEVELS.slice(0, LEVELS.indexOf(env.LOG_LEVEL) + 1),
  };
}
