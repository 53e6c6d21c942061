import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { procStatusKb, processCpuSeconds } from './bench-process.js';

/** The built CLI, next to this file's directory in dist/. */
export const CLI_MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

const MARK = '@@retain-bench-exit';

/**
 * Preloaded into the child with --import: as it exits (the CLI always ends with process.exit),
 * it prints its own peak RSS (VmHWM of this exec, so nothing inherited from the bench) and the
 * CPU seconds of all its threads (DuckDB's included). Pipes are written synchronously on Linux.
 */
const EXIT_REPORT = `import fs from 'node:fs';
process.on('exit', () => {
  let hwm = '';
  try { hwm = /^VmHWM:\\s+(\\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? ''; } catch {}
  const cpu = process.cpuUsage();
  process.stderr.write('\\n${MARK} ' + JSON.stringify({ hwmKb: hwm === '' ? null : Number(hwm), cpuS: (cpu.user + cpu.system) / 1e6 }) + '\\n');
});`;

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From spawn to exit: Node start, Nest boot, migrations check, the work, shutdown. */
  wallMs: number;
  /** The last stdout line parsed as JSON; null when it is not JSON. */
  result: unknown;
  /** Peak resident set of the child (kB): its own report at exit, else the highest value polled. */
  peakRssKb: number | null;
  /** User + system CPU seconds of the child, all threads. */
  cpuSeconds: number | null;
  /** The last ~64 KB the child printed (stdout and stderr). */
  output: string;
}

export interface CliHandle {
  pid: number;
  done: Promise<CliRun>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Runs `node dist/cli/main.js <args>` with `env` on top of ours; every stderr line goes to `onLine`. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  onLine: (line: string) => void,
): CliHandle {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [`--import=data:text/javascript,${encodeURIComponent(EXIT_REPORT)}`, CLI_MAIN, ...args],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pid = child.pid ?? -1;
  let output = '';
  let stdout = '';
  let stderrRest = '';
  let report: { hwmKb: number | null; cpuS: number } | null = null;
  let polledKb: number | null = null;
  let polledCpu: number | null = null;

  const poll = setInterval(() => {
    const kb = procStatusKb(pid, 'VmHWM');
    if (kb !== null) polledKb = Math.max(polledKb ?? 0, kb);
    polledCpu = processCpuSeconds(pid) ?? polledCpu;
  }, 100);
  poll.unref();

  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stdout = (stdout + text).slice(-1_048_576);
    output = (output + text).slice(-65_536);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    const text = stderrRest + chunk.toString();
    const lines = text.split('\n');
    stderrRest = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith(MARK)) {
        report = JSON.parse(line.slice(MARK.length + 1)) as { hwmKb: number | null; cpuS: number };
        continue;
      }
      output = (output + line + '\n').slice(-65_536);
      if (line.trim()) onLine(line);
    }
  });

  let exited = false;
  const done = new Promise<CliRun>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      exited = true;
      clearInterval(poll);
      if (stderrRest.trim()) onLine(stderrRest);
      const lines = stdout.trimEnd().split('\n');
      let result: unknown;
      try {
        result = JSON.parse(lines[lines.length - 1] ?? '');
      } catch {
        result = null;
      }
      const exitReport = report as { hwmKb: number | null; cpuS: number } | null;
      const peaks = [exitReport?.hwmKb ?? null, polledKb].filter((v): v is number => v !== null);
      resolve({
        code,
        signal,
        wallMs: performance.now() - started,
        result,
        peakRssKb: peaks.length > 0 ? Math.max(...peaks) : null,
        cpuSeconds: exitReport?.cpuS ?? polledCpu,
        output,
      });
    };
    // 'close' comes after the pipes are drained, so the exit report has been read.
    child.once('close', finish);
    child.once('error', (error) => {
      output += `\n${error.message}`;
      finish(null, null);
    });
  });

  return {
    pid,
    done,
    stop: async (graceMs = 10_000) => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    },
  };
}
