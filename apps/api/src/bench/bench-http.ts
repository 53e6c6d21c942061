import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface HttpLoadOptions {
  port: number;
  path: string;
  writeKey: string;
  bodies: Buffer[];
  sizes: number[];
  concurrency: number;
  /** Stops the load: no new requests, open sockets destroyed. */
  signal?: AbortSignal;
  /** Called about once a second with the events stored so far. */
  onProgress?: (events: number, elapsedMs: number) => void;
}

export interface HttpLoadResult {
  /** From the first request sent to the last response read. */
  elapsedMs: number;
  requests: number;
  acceptedEvents: number;
  /** 429 / 503 answers that were retried after Retry-After. */
  retries: number;
  /** Batches that never got a full 200. */
  failedBatches: number;
  /** Network errors (each retried up to MAX_NETWORK_RETRIES times). */
  networkErrors: number;
  /** A few distinct problems, for the report. */
  problems: string[];
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

/** An HTTP answer read whole. */
export interface Answer {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

const MAX_BUSY_RETRIES = 50;
const MAX_NETWORK_RETRIES = 3;
const MAX_PROBLEMS = 10;

/**
 * One request to the server on loopback, its answer read whole. With `timeoutMs`, a request left
 * without an answer that long fails.
 */
export function httpRequest(
  agent: http.Agent,
  request: {
    port: number;
    method: 'GET' | 'POST';
    path: string;
    headers: Record<string, string>;
    body?: Buffer;
    timeoutMs?: number;
  },
): Promise<Answer> {
  const { port, method, path, body, timeoutMs } = request;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        agent,
        timeout: timeoutMs,
        headers: body
          ? { ...request.headers, 'content-type': 'application/json', 'content-length': body.length }
          : request.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const retryAfter = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    if (timeoutMs !== undefined)
      req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

function acceptedOf(text: string): number | null {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'accepted' in parsed) {
      const accepted = (parsed as { accepted: unknown }).accepted;
      return typeof accepted === 'number' ? accepted : null;
    }
  } catch {
    // reported by the caller
  }
  return null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Sends every body with `concurrency` clients on keep-alive connections; every batch must be stored whole. */
export async function runHttpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const aborted = () => options.signal?.aborted === true;
  options.signal?.addEventListener('abort', () => agent.destroy(), { once: true });
  const auth = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const latencies = new Float64Array(options.bodies.length);
  const problems = new Set<string>();
  const note = (problem: string) => {
    if (problems.size < MAX_PROBLEMS) problems.add(problem.slice(0, 300));
  };
  let next = 0;
  let requests = 0;
  let acceptedEvents = 0;
  let retries = 0;
  let failedBatches = 0;
  let networkErrors = 0;

  const sendBatch = async (index: number): Promise<void> => {
    const body = options.bodies[index]!;
    const size = options.sizes[index]!;
    let busy = 0;
    let broken = 0;
    for (;;) {
      const sent = performance.now();
      let answer: Answer;
      try {
        requests++;
        answer = await httpRequest(agent, {
          port: options.port,
          method: 'POST',
          path: options.path,
          headers: { authorization: auth },
          body,
        });
      } catch (error) {
        if (aborted()) return;
        networkErrors++;
        note(`network: ${(error as Error).message}`);
        if (++broken > MAX_NETWORK_RETRIES) {
          failedBatches++;
          return;
        }
        await sleep(100);
        continue;
      }
      latencies[index] = performance.now() - sent;
      if (aborted()) return;
      if ((answer.status === 429 || answer.status === 503) && ++busy <= MAX_BUSY_RETRIES) {
        retries++;
        const seconds = Number(answer.retryAfter);
        await sleep(Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000);
        continue;
      }
      const accepted = answer.status === 200 ? acceptedOf(answer.text) : null;
      if (accepted === size) acceptedEvents += size;
      else {
        failedBatches++;
        note(`HTTP ${answer.status}, accepted ${accepted ?? '?'} of ${size}: ${answer.text}`);
      }
      return;
    }
  };

  const started = performance.now();
  const ticker = setInterval(() => options.onProgress?.(acceptedEvents, performance.now() - started), 1000);
  ticker.unref();
  try {
    const worker = async () => {
      while (next < options.bodies.length && !aborted()) await sendBatch(next++);
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    clearInterval(ticker);
    agent.destroy();
  }
  const elapsedMs = performance.now() - started;
  const sorted = latencies.slice().sort();
  return {
    elapsedMs,
    requests,
    acceptedEvents,
    retries,
    failedBatches,
    networkErrors,
    problems: [...problems],
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1] ?? 0,
    },
  };
}
