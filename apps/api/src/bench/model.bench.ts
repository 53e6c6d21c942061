import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { positiveInt } from '../cli/cli-options.js';
import { parse } from 'csv-parse/sync';
import pg from 'pg';
import { rocAuc } from '@retain/analytics';
import type { AnalyticsRun } from '@retain/contracts';
import { runCli, type CliRun } from './analytics-cli.js';
import { Cleanup } from './bench-process.js';
import { fmt, openBenchDatabase } from './bench-database.js';

/**
 * `npm run bench:model`: how well the analytics job recovers the demo data's hidden truth.
 * Generates demo data in a fresh database (default 2,000 accounts x 180 days), runs the job once,
 * and compares each live account's churn risk with whether it really churns in the 90 days after
 * the data ends (`will_churn_90d` in DATA_DIR/demo/ground-truth.csv: nothing the model could have
 * trained on), and each account's tier and proficiency with the truth. The generator's own churn
 * probability is scored the same way: the best any model could be expected to do on this data.
 * With --json the last line of stdout is
 * `{ accounts, seeds, churnAuc, churnAucCeiling, heldOutAuc, proficiencyAgreement, tierAgreement }`
 * (means over the seeds).
 */

const say = (message: string): void => void process.stderr.write(`${message}\n`);

const GOAL_AUC = 0.8;
const GOAL_PROFICIENCY = 0.9;

interface Options {
  accounts: number;
  days: number;
  seeds: number[];
  json?: boolean;
}

interface TruthRow {
  external_id: string;
  tier: string;
  proficiency: string;
  churned_at: string;
  will_churn_90d: string;
  churn_probability: string;
}

interface SeedResult {
  seed: number;
  live: number;
  churners: number;
  churnAuc: number | null;
  churnAucCeiling: number | null;
  heldOutAuc: number | null;
  proficiencyAgreement: number;
  tierAgreement: number;
  method: string;
}

const program = new Command()
  .name('bench:model')
  .description('Scores the churn model and segments against the demo data’s hidden truth')
  .option('--accounts <n>', 'demo accounts', positiveInt('--accounts'), 2000)
  .option('--days <n>', 'days of history', positiveInt('--days'), 180)
  .option(
    '--seeds <list>',
    'comma-separated demo seeds; one data set and one run each',
    (v: string) => v.split(',').map((s) => positiveInt('--seeds')(s.trim())),
    [42],
  )
  .option('--json', 'print the result as one JSON object on the last line of stdout');

async function oneSeed(options: Options, seed: number, cleanup: Cleanup): Promise<SeedResult> {
  const { benchUrl } = await openBenchDatabase(`retain_bench_model_${seed}`, cleanup, say);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-bench-model-'));
  cleanup.add(`remove ${dataDir}`, async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const env = { DATABASE_URL: benchUrl, DATA_DIR: dataDir, DEMO_DATA: 'false', LOG_LEVEL: 'warn' };
  const cli = async (args: string[]): Promise<CliRun> => {
    const child = runCli(args, env, (line) => say(`  [seed ${seed}] ${line}`));
    cleanup.add(`stop ${args[0]}`, () => child.stop());
    const result = await child.done;
    if (result.code !== 0) throw new Error(`${args.join(' ')} exited with ${result.code ?? result.signal}`);
    return result;
  };

  say(`Seed ${seed}: generating ${fmt(options.accounts)} accounts x ${options.days} days ...`);
  await cli([
    'demo:generate',
    '--accounts',
    String(options.accounts),
    '--days',
    String(options.days),
    '--seed',
    String(seed),
  ]);
  say(`Seed ${seed}: analytics run ...`);
  const run = (await cli(['analytics:run'])).result as AnalyticsRun;
  if (run?.status !== 'succeeded') throw new Error(`The run did not succeed: ${run?.error ?? 'no summary'}`);

  const truth = parse(fs.readFileSync(path.join(dataDir, 'demo', 'ground-truth.csv'), 'utf8'), {
    columns: true,
  }) as TruthRow[];
  const db = new pg.Client({ connectionString: benchUrl });
  await db.connect();
  const { rows } = await db.query<{
    external_id: string;
    tier: string;
    proficiency: string;
    churn_risk: number;
  }>(
    `SELECT a.external_id, s.tier, s.proficiency, s.churn_risk
     FROM account_scores s JOIN accounts a ON a.id = s.account_id`,
  );
  await db.end();
  const scored = new Map(rows.map((r) => [r.external_id, r]));

  const risks: number[] = [];
  const ceiling: number[] = [];
  const labels: boolean[] = [];
  let agreeProficiency = 0;
  let agreeTier = 0;
  let compared = 0;
  for (const t of truth) {
    const s = scored.get(t.external_id);
    if (!s) continue;
    compared++;
    if (s.proficiency === t.proficiency) agreeProficiency++;
    if (s.tier === t.tier) agreeTier++;
    // Accounts that already churned are not scored for the future.
    if (t.churned_at !== '' || s.churn_risk === null) continue;
    risks.push(Number(s.churn_risk));
    ceiling.push(Number(t.churn_probability));
    labels.push(t.will_churn_90d === 'true');
  }
  return {
    seed,
    live: labels.length,
    churners: labels.filter(Boolean).length,
    churnAuc: rocAuc(risks, labels),
    churnAucCeiling: rocAuc(ceiling, labels),
    heldOutAuc: run.model?.auc ?? null,
    proficiencyAgreement: compared ? agreeProficiency / compared : 0,
    tierAgreement: compared ? agreeTier / compared : 0,
    method: run.model?.method ?? 'none',
  };
}

const mean = (values: (number | null)[]): number | null => {
  const v = values.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
};
const f3 = (n: number | null): string => (n === null ? 'n/a' : n.toFixed(3));
const pct = (n: number | null): string => (n === null ? 'n/a' : `${(100 * n).toFixed(1)}%`);

async function main(): Promise<void> {
  const options = program.parse(process.argv).opts<Options>();
  let current = new Cleanup(say);
  let interrupted = false;
  const interrupt = (signal: NodeJS.Signals) => {
    interrupted = true;
    say(`${signal}: cleaning up`);
    void current.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const results: SeedResult[] = [];
  try {
    for (const seed of options.seeds) {
      current = new Cleanup(say);
      try {
        const r = await oneSeed(options, seed, current);
        results.push(r);
        say(
          `Seed ${seed}: ${r.method}, churn AUC ${f3(r.churnAuc)} (ceiling ${f3(r.churnAucCeiling)}, ` +
            `held-out history ${f3(r.heldOutAuc)}) on ${fmt(r.live)} live accounts, ${fmt(r.churners)} churn ` +
            `within 90 days; proficiency ${pct(r.proficiencyAgreement)}, tier ${pct(r.tierAgreement)}`,
        );
      } finally {
        await current.run();
      }
    }
  } catch (error) {
    if (!interrupted)
      say(`bench:model failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  }
  const summary = {
    accounts: options.accounts,
    seeds: options.seeds,
    churnAuc: mean(results.map((r) => r.churnAuc)),
    churnAucCeiling: mean(results.map((r) => r.churnAucCeiling)),
    heldOutAuc: mean(results.map((r) => r.heldOutAuc)),
    proficiencyAgreement: mean(results.map((r) => r.proficiencyAgreement)),
    tierAgreement: mean(results.map((r) => r.tierAgreement)),
  };
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(
    [
      '',
      `Model quality on demo data (${fmt(options.accounts)} accounts x ${options.days} days, seeds ${options.seeds.join(', ')})`,
      `  churn within 90 days, ROC AUC vs hidden truth: ${f3(summary.churnAuc)} ` +
        `(goal >= ${GOAL_AUC}: ${met((summary.churnAuc ?? 0) >= GOAL_AUC)})`,
      `  the generator's own churn probability:        ${f3(summary.churnAucCeiling)}`,
      `  the model's own held-out AUC on history:      ${f3(summary.heldOutAuc)}`,
      `  proficiency agreement:                        ${pct(summary.proficiencyAgreement)} ` +
        `(goal >= ${100 * GOAL_PROFICIENCY}%: ${met((summary.proficiencyAgreement ?? 0) >= GOAL_PROFICIENCY)})`,
      `  tier agreement:                               ${pct(summary.tierAgreement)}`,
    ].join('\n'),
  );
  if (options.json) console.log(JSON.stringify(summary));
  process.exit(0);
}

void main();
