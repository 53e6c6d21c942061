import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** The built server, next to this file's directory in dist/. */
export const SERVER_MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  pid: number;
  baseUrl: string;
  port: number;
  /** The last ~64 KB the server printed. */
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Runs `node dist/main.js` as `npm start` does, with the given environment on top of ours. */
export function spawnServer(
  env: Record<string, string>,
  port: number,
  nodeArgs: string[],
  onLine: (line: string) => void,
): ServerProcess {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, SERVER_MAIN], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const take = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-65_536);
    for (const line of text.split('\n')) if (line.trim()) onLine(line);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  let done = false;
  void exited.then(() => (done = true));
  return {
    pid: child.pid ?? -1,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    stop: async (graceMs = 15_000) => {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls /api/health until it answers, the process exits, or the time is up. */
export async function waitUntilUp(server: ServerProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`The server exited before it was up:\n${server.output()}`);
    try {
      const res = await fetch(`${server.baseUrl}/api/health`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`The server did not come up in ${timeoutMs} ms:\n${server.output()}`);
}

/** A field of /proc/<pid>/status in kB (VmHWM, VmRSS), or null off Linux / after exit. */
export function procStatusKb(pid: number, field: string): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Clock ticks per second of /proc times; 100 on every mainstream Linux build. */
const TICKS = 100;

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return null;
  }
}

/**
 * CPU seconds of every local process named "postgres" (the server, its backends, and through the
 * postmaster's cutime/cstime the ones that already exited). Zero when PostgreSQL runs elsewhere.
 */
export function postgresCpuSeconds(): number {
  let ticks = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      if (stat.slice(open + 1, close) !== 'postgres') continue;
      const f = stat.slice(close + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks / TICKS;
}

/** Busy CPU seconds summed over all cores since boot, from /proc/stat. */
export function machineBusySeconds(): number | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    // cpu  user nice system idle iowait irq softirq steal ...
    const t = line.trim().split(/\s+/).slice(1).map(Number);
    return (t[0]! + t[1]! + t[2]! + t[5]! + t[6]! + t[7]!) / TICKS;
  } catch {
    return null;
  }
}

/** Undo steps run newest first, once, whether the run ends, fails or is interrupted. */
export class Cleanup {
  private readonly steps: { name: string; run: () => Promise<void> }[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly log: (message: string) => void) {}

  add(name: string, run: () => Promise<void>): void {
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.run();
        } catch (error) {
          this.log(`cleanup: ${step.name} failed: ${(error as Error).message}`);
        }
      }
    })();
    return this.running;
  }
}

/**
 * A benchmark's main: runs `run` with a Cleanup that also runs on Ctrl+C or SIGTERM (exit 130 /
 * 143), reports a failure on stderr, and exits with `run`'s code, so keep-alive sockets or a stray
 * timer never keep the process alive.
 */
export async function runBench(
  name: string,
  say: (message: string) => void,
  run: (cleanup: Cleanup) => Promise<number>,
): Promise<never> {
  const cleanup = new Cleanup(say);
  let interruptedBy: NodeJS.Signals | undefined;
  const exitCodeFor = (signal: NodeJS.Signals) => (signal === 'SIGINT' ? 130 : 143);
  const interrupt = (signal: NodeJS.Signals) => {
    interruptedBy = signal;
    say(`${signal}: cleaning up`);
    void cleanup.run().finally(() => process.exit(exitCodeFor(signal)));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  let code = 1;
  try {
    code = await run(cleanup);
  } catch (error) {
    // After Ctrl+C the run fails as its children and database go away; that is no news.
    if (!interruptedBy)
      say(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    await cleanup.run();
  }
  process.exit(interruptedBy ? exitCodeFor(interruptedBy) : code);
}
