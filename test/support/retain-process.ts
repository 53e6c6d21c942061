import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

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

export interface RetainProcess {
  baseUrl: string;
  /** The server's process id (for its memory in /proc). */
  pid: number;
  output(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Runs the built server exactly as `npm start` does, with the given environment. */
export function runRetain(env: Record<string, string | undefined>, port: number): RetainProcess {
  // Each server gets a data dir of its own unless the test names one: no files land in the checkout.
  const ownDataDir = 'DATA_DIR' in env ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'retain-e2e-'));
  const clean = Object.fromEntries(
    Object.entries({
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      ...(ownDataDir ? { DATA_DIR: ownDataDir } : {}),
      ...env,
    }).filter(([, v]) => v !== undefined),
  ) as NodeJS.ProcessEnv;
  const child: ChildProcess = spawn(process.execPath, [path.join(REPO_ROOT, 'apps/api/dist/main.js')], {
    env: clean,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      if (ownDataDir) fs.rmSync(ownDataDir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    output: () => stripVTControlCharacters(output),
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls /api/health until it answers, the process exits, or the time is up. */
export async function waitUntilUp(proc: RetainProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let done = false;
  void proc.exited.then(() => (done = true));
  while (Date.now() < deadline) {
    if (done) throw new Error(`Retain exited before it was up:\n${proc.output()}`);
    try {
      const res = await fetch(`${proc.baseUrl}/api/health`);
      if (res.status === 200 || res.status === 503) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Retain did not come up in ${timeoutMs} ms:\n${proc.output()}`);
}
