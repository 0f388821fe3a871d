/**
 * Shows how the database runs one FHIR search: the exact statement the server's search code issues
 * (blind-index digests included), its `EXPLAIN (ANALYZE, BUFFERS)`, and its mean time over a
 * number of runs. For data a benchmark kept (`bench/fhir-core.ts --keep`):
 *
 *   npx tsx bench/explain-search.ts --pglite-dir /tmp/bp --key-file /tmp/bp.keys/master.kek 'Patient?family=sha'
 *   npx tsx bench/explain-search.ts --pg-schema bench_fhir_core --key-file /tmp/sushruta-bench-bench_fhir_core.keys/master.kek 'Patient?family=sha'
 *
 * `--plain` opens the data without encryption (the `-plain` / `_plain` copy of a benchmark);
 * `--vacuum` runs VACUUM ANALYZE first, as the benchmarks do before each measured run.
 */
import { loadConfig } from '../src/config/config.js';
import { executeSearch, parseSearch } from '../src/fhir/search/index.js';
import { openSushruta } from '../src/runtime/open.js';
import type { Queryable, QueryResult, SqlValue } from '../src/store/db.js';

interface Stmt {
  readonly text: string;
  readonly params: readonly SqlValue[];
}

class Recorder implements Queryable {
  readonly stmts: Stmt[] = [];
  async query<R>(text: string, params?: readonly SqlValue[]): Promise<QueryResult<R>> {
    this.stmts.push({ text, params: params ?? [] });
    return { rows: [], rowCount: 0 };
  }
}

function die(msg: string): never {
  process.stderr.write(`explain-search: ${msg}\n`);
  process.exit(2);
}

async function main() {
  const args = process.argv.slice(2);
  let dataDir: string | undefined;
  let databaseUrl: string | undefined;
  let keyFile: string | undefined;
  let plain = false;
  let vacuum = false;
  let runs = 50;
  let query: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const v = () => args[++i] ?? die(`${a} needs a value`);
    if (a === '--pglite-dir') dataDir = v();
    else if (a === '--pg-schema') {
      const u = new URL(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
      u.searchParams.set('options', `-c search_path=${v()}`);
      databaseUrl = u.toString();
    } else if (a === '--key-file') keyFile = v();
    else if (a === '--plain') plain = true;
    else if (a === '--vacuum') vacuum = true;
    else if (a === '--runs') runs = Number(v());
    else if (a.startsWith('-')) die(`unknown option ${a}`);
    else query = a;
  }
  if (!query || !/^[A-Z][A-Za-z]+\?/.test(query)) die("give a search such as 'Patient?family=sha'");
  if (!dataDir && !databaseUrl) die('give --pglite-dir or --pg-schema');
  const [type, qs] = query.split('?', 2) as [string, string];
  const config = loadConfig({
    env: {},
    flags: { tenant: 'bench', ...(dataDir ? { dataDir } : {}), ...(databaseUrl ? { databaseUrl } : {}), ...(keyFile ? { keyFile } : {}) },
  });
  const s = await openSushruta(config, { encryption: !plain, audit: { append: async () => {} } });
  try {
    // As the benchmarks do before each measured run (autovacuum may be off).
    if (vacuum) await s.db.query('VACUUM ANALYZE');
    const rec = new Recorder();
    const { search } = parseSearch(type, [...new URLSearchParams(qs)], { lenient: false, defaultCount: 20, maxCount: 1000 });
    await executeSearch(rec, s.service.deps.store, search);
    const stmt = rec.stmts[0];
    if (!stmt) die('the search issued no statement');
    process.stdout.write(`${stmt.text}\n-- params: ${JSON.stringify(stmt.params)}\n\n`);
    const plan = await s.db.query<Record<string, string>>(`EXPLAIN (ANALYZE, BUFFERS) ${stmt.text}`, stmt.params);
    for (const row of plan.rows) process.stdout.write(`${Object.values(row)[0]}\n`);
    let rows = 0;
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) rows = (await s.db.query(stmt.text, stmt.params)).rows.length;
    process.stdout.write(`\n${runs} runs: ${((performance.now() - t0) / runs).toFixed(2)} ms each, ${rows} rows\n`);
  } finally {
    await s.close();
  }
}

main().catch((err) => die(err instanceof Error ? (err.stack ?? err.message) : String(err)));
