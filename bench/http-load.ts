/**
 * Closed-loop HTTP load for the benchmarks: `concurrency` keep-alive clients in a worker thread
 * (so that their own work does not run on the server's event loop), each sending the next request
 * of a list as soon as its last answer arrived, for a warm-up and then a measured duration.
 */
import { Worker } from 'node:worker_threads';

export interface HttpReq {
  readonly m: string;
  readonly p: string;
  readonly b?: string;
}

export interface LoadOptions {
  readonly concurrency: number;
  /** Seconds. */
  readonly warmup: number;
  /** Seconds. */
  readonly duration: number;
  /** Sent with every request (a session cookie, a CSRF token). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Count the entries of search answers (a sample of 1 in 16). */
  readonly countRows?: boolean;
}

export interface Stats {
  readonly n: number;
  readonly errors: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  /** Mean result rows (searches) from a sample of responses. */
  readonly rows?: number;
  readonly firstError?: string;
}

export function stats(lat: Float64Array | number[], errors: number, seconds: number, rows?: number, firstError?: string): Stats {
  const sorted = Float64Array.from(lat).sort();
  const q = (p: number) => (sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number) : Number.NaN);
  return {
    n: sorted.length,
    errors,
    seconds,
    rps: sorted.length / seconds,
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
    ...(rows !== undefined ? { rows } : {}),
    ...(firstError ? { firstError } : {}),
  };
}

/** The load generator (plain JS, Node's http with keep-alive). */
const WORKER = `
const http = require('node:http');
const { parentPort, workerData: w } = require('node:worker_threads');
const agent = new http.Agent({ keepAlive: true, maxSockets: w.concurrency });
const lat = [];
let errors = 0, firstError, rows = 0, rowSamples = 0, next = 0;
const t0 = performance.now();
const from = t0 + w.warmupMs;
const end = from + w.durationMs;
function send(req) {
  return new Promise((resolve) => {
    const headers = { accept: 'application/fhir+json', ...w.headers };
    if (req.b !== undefined) { headers['content-type'] = 'application/fhir+json'; headers['content-length'] = Buffer.byteLength(req.b); }
    const r = http.request({ host: w.host, port: w.port, method: req.m, path: req.p, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', (e) => resolve({ status: 0, body: Buffer.from(String(e)) }));
    });
    r.on('error', (e) => resolve({ status: 0, body: Buffer.from(String(e)) }));
    r.end(req.b);
  });
}
async function client() {
  for (;;) {
    const start = performance.now();
    if (start >= end) return;
    const i = next++;
    const req = w.requests[i % w.requests.length];
    const res = await send(req);
    const done = performance.now();
    if (start < from) continue;
    if (res.status < 200 || res.status > 299) {
      errors++;
      if (!firstError) firstError = res.status + ' ' + req.m + ' ' + req.p + ': ' + res.body.toString('utf8').slice(0, 300);
      continue;
    }
    lat.push(done - start);
    if (w.countRows && i % 16 === 0) {
      try { rows += (JSON.parse(res.body.toString('utf8')).entry || []).length; rowSamples++; } catch {}
    }
  }
}
Promise.all(Array.from({ length: w.concurrency }, client)).then(() => {
  agent.destroy();
  parentPort.postMessage({ lat: Float64Array.from(lat), errors, firstError, rows: rowSamples ? rows / rowSamples : undefined, seconds: w.durationMs / 1000 });
});
`;

export async function runHttp(url: string, requests: readonly HttpReq[], o: LoadOptions): Promise<Stats> {
  const u = new URL(url);
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      host: u.hostname,
      port: Number(u.port),
      requests,
      concurrency: o.concurrency,
      warmupMs: o.warmup * 1000,
      durationMs: o.duration * 1000,
      countRows: o.countRows ?? false,
      headers: o.headers ?? {},
    },
  });
  const r = await new Promise<{ lat: Float64Array; errors: number; firstError?: string; rows?: number; seconds: number }>(
    (resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    },
  );
  await worker.terminate();
  return stats(r.lat, r.errors, r.seconds, r.rows, r.firstError);
}
