import net from 'node:net';
import { freePort } from './retain-process.js';

/**
 * A TCP proxy on 127.0.0.1 that forwards every connection to `target`. Tests put it between a
 * server and PostgreSQL to simulate an outage: `pause()` cuts every open connection and stops
 * listening (new connections are refused), `resume()` listens again on the same port.
 * `stall()` holds every byte in both directions (queries hang as on a dead network) until
 * `unstall()`, or until `pause()` cuts them mid-query.
 */
export interface TcpProxy {
  port: number;
  /** Connections accepted so far (a way to check traffic really goes through the proxy). */
  readonly connections: number;
  /** Connections open now. */
  readonly open: number;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stall(): void;
  unstall(): void;
  close(): Promise<void>;
}

export interface ProxyTarget {
  host: string;
  port: number;
}

/** Host and port of the PostgreSQL server a postgres:// URL names (default port 5432). */
export function postgresTarget(url: string): ProxyTarget {
  const parsed = new URL(url);
  return { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || 5432) };
}

/** The same URL with host and port replaced, to send a client through the proxy. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return parsed.toString();
}

export async function startTcpProxy(target: ProxyTarget, port?: number): Promise<TcpProxy> {
  const listenPort = port ?? (await freePort());
  const sockets = new Set<net.Socket>();
  const clients = new Set<net.Socket>();
  let accepted = 0;
  let server: net.Server | null = null;
  let stalled = false;
  let held: (() => void)[] = [];

  const forward = (from: net.Socket, to: net.Socket) =>
    from.on('data', (chunk: Buffer) => {
      const write = () => {
        if (!to.destroyed) to.write(chunk);
      };
      if (stalled) held.push(write);
      else write();
    });

  const onConnection = (client: net.Socket) => {
    accepted++;
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    clients.add(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      clients.delete(client);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    forward(client, upstream);
    forward(upstream, client);
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer(onConnection);
      s.once('error', reject);
      s.listen(listenPort, '127.0.0.1', () => {
        s.off('error', reject);
        server = s;
        resolve();
      });
    });

  const stopListening = async () => {
    const s = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    clients.clear();
    held = [];
    stalled = false;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();
  return {
    port: listenPort,
    get connections() {
      return accepted;
    },
    get open() {
      return clients.size;
    },
    pause: stopListening,
    resume: async () => {
      if (!server) await listen();
    },
    stall: () => {
      stalled = true;
    },
    unstall: () => {
      stalled = false;
      const queued = held;
      held = [];
      for (const write of queued) write();
    },
    close: stopListening,
  };
}
