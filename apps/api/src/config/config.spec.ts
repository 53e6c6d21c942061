import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config.js';

const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('has working defaults for a newcomer', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir.endsWith('/data')).toBe(true);
    expect(config.embeddedPostgres.dir).toBe(`${config.dataDir}/pg`);
    expect(config.demo).toEqual({ enabled: true, accounts: 2000, days: 180, seed: 42 });
    expect(config.analytics.cron).toBe('*/15 * * * *');
    expect(config.logLevels).toEqual(['error', 'warn', 'log']);
  });

  it('fills a named server with demo data only when DEMO_DATA=true', () => {
    const url = 'postgres://postgres@127.0.0.1:5432/retain';
    expect(loadConfig({ DATABASE_URL: url }).demo.enabled).toBe(false);
    expect(loadConfig({ DATABASE_URL: url, DEMO_DATA: 'true' }).demo.enabled).toBe(true);
    expect(loadConfig({ DEMO_DATA: 'false' }).demo.enabled).toBe(false);
  });

  it('reads numbers, paths and thresholds', () => {
    const config = loadConfig({
      PORT: '8080',
      DATA_DIR: '/srv/retain',
      TIER_ENTERPRISE_MIN_MRR: '10000',
      LOG_LEVEL: 'debug',
    });
    expect(config.port).toBe(8080);
    expect(config.dataDir).toBe('/srv/retain');
    expect(config.tiers.enterpriseMinMrr).toBe(10000);
    expect(config.logLevels).toContain('debug');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).port).toBe(3000);
  });

  it('names every bad variable at once, with the value it got', () => {
    const problems = problemsOf({
      PORT: 'abc',
      DATABASE_URL: 'mysql://x',
      DEMO_DATA: 'maybe',
      DEMO_DAYS: '0',
      ANALYTICS_CRON: 'every minute',
      BUSINESS_HOURS: '17:00-09:00',
      BUSINESS_TIMEZONE: 'Mars/Olympus',
    });
    expect(problems).toEqual([
      'PORT: expected a port number (got "abc")',
      'DATABASE_URL: expected a postgres:// or postgresql:// URL (got "mysql://x")',
      'DEMO_DATA: expected true or false (got "maybe")',
      'DEMO_DAYS: expected a number above 0 (got "0")',
      'ANALYTICS_CRON: expected a cron expression, e.g. "*/15 * * * *" (got "every minute")',
      'BUSINESS_HOURS: the working day must end after it starts (got "17:00-09:00")',
      'BUSINESS_TIMEZONE: expected an IANA time zone, e.g. Europe/Berlin (got "Mars/Olympus")',
    ]);
  });

  it('rejects a port out of range', () => {
    expect(problemsOf({ PORT: '70000' })).toEqual([
      'PORT: expected a port between 1 and 65535 (got "70000")',
    ]);
  });
});
