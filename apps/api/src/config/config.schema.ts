import { z } from 'zod';
import { CronTime } from 'cron';

const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], {
    error: 'expected true or false',
  })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const port = z.coerce
  .number({ error: 'expected a port number' })
  .int('expected a whole number')
  .min(1, 'expected a port between 1 and 65535')
  .max(65535, 'expected a port between 1 and 65535');

const positiveInt = z.coerce
  .number({ error: 'expected a number' })
  .int('expected a whole number')
  .positive('expected a number above 0');
const nonNegative = z.coerce
  .number({ error: 'expected a number' })
  .nonnegative('expected a number of 0 or more');

const cronExpression = z.string().refine(
  (value) => {
    try {
      new CronTime(value);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'expected a cron expression, e.g. "*/15 * * * *"' },
);

/**
 * Every setting Retain reads from the environment. Names are the variables' names; the README's
 * configuration table lists the same ones.
 */
export const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// or postgresql:// URL' })
    .optional(),
  DATA_DIR: z.string().min(1).optional(),
  DEMO_DATA: booleanString.optional(),
  DEMO_ACCOUNTS: positiveInt.default(2000),
  DEMO_DAYS: positiveInt.max(3650, 'expected at most 3650 days').default(180),
  DEMO_SEED: z.coerce.number({ error: 'expected a number' }).int('expected a whole number').default(42),
  EMBEDDED_PG_PORT: port.default(54329),
  ANALYTICS_CRON: cronExpression.default('*/15 * * * *'),
  TIER_ENTERPRISE_MIN_MRR: nonNegative.default(5000),
  TIER_MIDMARKET_MIN_MRR: nonNegative.default(500),
  TIER_ENTERPRISE_MIN_SEATS: positiveInt.default(250),
  BUSINESS_HOURS: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, {
      error: 'expected HH:MM-HH:MM, e.g. 09:00-17:00',
    })
    .refine((v) => v.slice(0, 5) < v.slice(6), { error: 'the working day must end after it starts' })
    .default('09:00-17:00'),
  BUSINESS_TIMEZONE: z
    .string()
    .refine(
      (tz) => {
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      },
      { error: 'expected an IANA time zone, e.g. Europe/Berlin' },
    )
    .default('UTC'),
  INGEST_CONCURRENCY: positiveInt.max(64, 'expected at most 64').default(8),
  INGEST_QUEUE_LIMIT: positiveInt.default(64),
  ADMIN_EMAIL: z.email({ error: 'expected an email address' }).optional(),
  ADMIN_PASSWORD: z.string().min(12, 'expected at least 12 characters').optional(),
  SESSION_IDLE_MINUTES: positiveInt.default(720),
  SESSION_MAX_HOURS: positiveInt.default(168),
  LOGIN_MAX_FAILURES: positiveInt.default(5),
  COOKIE_SECURE: z.enum(['auto', 'true', 'false'], { error: 'expected auto, true or false' }).default('auto'),
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
});

export type Env = z.infer<typeof envSchema>;
