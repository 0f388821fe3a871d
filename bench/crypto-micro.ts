/**
 * Micro-benchmark of the CPU cost of encryption at rest, per call, on one thread:
 *
 *   npx tsx bench/crypto-micro.ts [--iterations 200000] [--rounds 5]
 *
 * - one blind index (HMAC-SHA-256, `blindIndex` in src/security/crypto/blind-index.ts, the reference
 *   implementation), and `blindDigest` (what the server calls: constant part of the message encoded
 *   once, recent digests cached) with a cache miss and with a cache hit;
 * - one body encrypt and one decrypt (`encryptedCodec`, AES-256-GCM with the associated data) of a
 *   synthetic Patient, beside the plaintext codec;
 * - the search index rows of one Patient (`extractIndexRows`: FHIRPath + normalisation + HMAC),
 *   with the identity transform (encryption off) and the blind-index transform (on), and how many
 *   rows each gives.
 *
 * Keys come from a real KeyRing on an in-memory PGlite (the same path the server takes). Prints a
 * markdown table (median of `--rounds`, µs per call) and writes bench/results/crypto-micro-<date>.json.
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractIndexRows } from '../src/fhir/search/extract.js';
import { identityTransform, setIndexValueTransform } from '../src/fhir/search/index.js';
import { type AnyResource, TenantId } from '../src/fhir/types.js';
import { syntheticPatient } from '../src/hospital/demo/index.js';
import { blindIndex } from '../src/security/crypto/blind-index.js';
import { blindDigest, blindIndexTransform } from '../src/security/crypto/blind-transform.js';
import { encryptedCodec } from '../src/security/crypto/envelope.js';
import { kekFromBytes } from '../src/security/crypto/kek.js';
import { KeyRing, cryptoMigrations } from '../src/security/crypto/keyring.js';
import { plainCodec } from '../src/store/codec.js';
import { openDb } from '../src/store/open-db.js';
import { migrate } from '../src/store/migrate.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TENANT = 'bench';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    process.stderr.write(`crypto-micro: ${name} must be a positive number\n`);
    process.exit(2);
  }
  return v;
}

const ITER = arg('--iterations', 200_000);
const ROUNDS = arg('--rounds', 5);

interface Row {
  readonly name: string;
  readonly note: string;
  /** Median µs per call over the rounds. */
  readonly us: number;
  readonly rounds: number[];
  readonly calls: number;
}

const rows: Row[] = [];
let sink = 0;

/** Runs `fn(i)` for i in 0..n-1, `ROUNDS` times after one warm-up round; records the median µs per call. */
function measure(name: string, note: string, n: number, fn: (i: number) => unknown): Row {
  const per: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const x = fn(i + r * n);
      if (x !== undefined) sink++;
    }
    const us = ((performance.now() - t) * 1000) / n;
    if (r > 0) per.push(us);
  }
  const sorted = [...per].sort((a, b) => a - b);
  const row = { name, note, us: sorted[Math.floor(sorted.length / 2)] as number, rounds: per, calls: n };
  rows.push(row);
  process.stderr.write(`${name}: ${row.us.toFixed(2)} µs\n`);
  return row;
}

async function main() {
  const db = await openDb({ kind: 'pglite', dataDir: 'memory://' });
  try {
    await migrate(db, [cryptoMigrations]);
    const ring = await KeyRing.open(db, kekFromBytes(randomBytes(32)));
    await ring.preload(TENANT);
    const indexKey = ring.activeCached(TENANT, 'index').key;
    const codec = encryptedCodec(ring);

    // Values like the ones a Patient write hashes: prefixes of names (2..16 code points).
    const values = Array.from({ length: 65_536 }, (_, i) => `sharma-kulkarni`.slice(0, 2 + (i % 12)) + i.toString(36));

    measure('blindIndex (HMAC-SHA-256, reference, no cache)', 'blind-index.ts: encodes the whole message, one createHmac', ITER, (i) =>
      blindIndex(indexKey, TENANT, 'Patient', 'family', 'prefix', values[i % values.length] as string),
    );
    measure(
      'blindDigest, cache miss',
      'blind-transform.ts: the call the server makes; 65,536 distinct values in turn, so the 8,192-entry cache never holds the next one',
      ITER,
      (i) => blindDigest(indexKey, TENANT, 'Patient', 'family', 'prefix', values[i % values.length] as string),
    );
    measure('blindDigest, cache hit', 'the same value again (a Patient repeats prefixes across parameters)', ITER, () =>
      blindDigest(indexKey, TENANT, 'Patient', 'family', 'prefix', 'sharma'),
    );

    const patients = Array.from({ length: 2000 }, (_, i) => ({ ...syntheticPatient(3, i), id: `p${i}` }) as AnyResource & { id: string });
    const json = patients.map((p) => JSON.stringify(p));
    const bytes = Math.round(json.reduce((a, j) => a + Buffer.byteLength(j), 0) / json.length);
    const ctx = (i: number) => ({ tenantId: TENANT, resourceType: 'Patient', id: `p${i % json.length}`, versionId: '1' });
    const enc = json.map((j, i) => codec.encode(j, ctx(i)));
    const plain = json.map((j, i) => plainCodec.encode(j, ctx(i)));
    const n = Math.max(1000, Math.floor(ITER / 4));
    measure(`encrypt body (AES-256-GCM), ~${bytes} B Patient`, 'encryptedCodec.encode', n, (i) =>
      codec.encode(json[i % json.length] as string, ctx(i)),
    );
    measure(`decrypt body (AES-256-GCM), ~${bytes} B Patient`, 'encryptedCodec.decode', n, (i) =>
      codec.decode(enc[i % enc.length] as Uint8Array, ctx(i)),
    );
    measure('plain body encode (UTF-8)', 'plainCodec.encode, the encryption-off baseline', n, (i) =>
      plainCodec.encode(json[i % json.length] as string, ctx(i)),
    );
    measure('plain body decode (UTF-8)', 'plainCodec.decode', n, (i) => plainCodec.decode(plain[i % plain.length] as Uint8Array, ctx(i)));

    const tenant = TenantId(TENANT);
    const count = (p: AnyResource) => {
      const r = extractIndexRows(tenant, p);
      return r.strings.length + r.tokens.length + r.dates.length + r.refs.length + r.numbers.length + r.quantities.length + r.uris.length;
    };
    const m = Math.max(200, Math.floor(ITER / 100));
    setIndexValueTransform(identityTransform);
    const plainRows = patients.slice(0, 200).reduce((a, p) => a + count(p), 0) / 200;
    measure('index rows of one Patient, encryption off', `extractIndexRows, identity transform; ${plainRows.toFixed(0)} rows`, m, (i) =>
      extractIndexRows(tenant, patients[i % patients.length] as AnyResource),
    );
    setIndexValueTransform(blindIndexTransform(ring));
    const blindRows = patients.slice(0, 200).reduce((a, p) => a + count(p), 0) / 200;
    measure(
      'index rows of one Patient, encryption on',
      `extractIndexRows, blind-index transform (digest cache warm for common prefixes); ${blindRows.toFixed(0)} rows`,
      m,
      (i) => extractIndexRows(tenant, patients[i % patients.length] as AnyResource),
    );
    setIndexValueTransform(identityTransform);

    const git = (cmd: string) => {
      try {
        return execSync(cmd, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      } catch {
        return '?';
      }
    };
    const date = new Date().toISOString();
    const machine = {
      nproc: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? '?',
      node: process.version,
      openssl: process.versions.openssl,
      loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
      commit: git('git rev-parse --short HEAD'),
      dirty: git('git status --porcelain') !== '',
    };
    const outDir = join(ROOT, 'bench/results');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `crypto-micro-${date.slice(0, 10)}T${date.slice(11, 16).replace(':', '')}.json`);
    const command = `npx tsx bench/crypto-micro.ts ${process.argv.slice(2).join(' ')}`.trim();
    writeFileSync(
      file,
      `${JSON.stringify({ benchmark: 'crypto-micro', date, command, machine, iterations: ITER, rounds: ROUNDS, rowsPerPatient: { off: plainRows, on: blindRows }, results: rows }, null, 2)}\n`,
    );
    process.stdout.write(
      `\n## Crypto micro-benchmark, ${date.slice(0, 10)}, commit ${machine.commit}${machine.dirty ? ' (uncommitted changes)' : ''}\n\n` +
        `${machine.nproc} CPUs (${machine.cpu}), Node ${machine.node}, OpenSSL ${machine.openssl}, load average ${machine.loadAverage.join(' / ')}. ` +
        `Median of ${ROUNDS} rounds. Command: \`${command}\`\n\n` +
        '| operation | µs per call | what |\n|---|---:|---|\n' +
        rows.map((r) => `| ${r.name} | ${r.us < 10 ? r.us.toFixed(2) : r.us.toFixed(1)} | ${r.note} |`).join('\n') +
        '\n',
    );
    process.stderr.write(`results written to ${file} (${sink} results kept)\n`);
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  process.stderr.write(`crypto-micro: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
