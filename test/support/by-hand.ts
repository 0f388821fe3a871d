/**
 * The by-hand proof checks of docs/SECURITY.md ("Checking a proof by hand"), taken from the page
 * itself and run with bash, so the documentation cannot drift from what works.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SECURITY_MD = fileURLToPath(new URL('../../docs/SECURITY.md', import.meta.url));

/** The ```bash blocks of the page that start with `# by-hand: NAME`, by name. */
export function byHandBlocks(): Record<string, string> {
  const text = readFileSync(SECURITY_MD, 'utf8');
  const blocks: Record<string, string> = {};
  for (const m of text.matchAll(/```bash\n# by-hand: (\w+)\n([\s\S]*?)```/g)) blocks[m[1] as string] = m[2] as string;
  return blocks;
}

/** Why the tools the page uses are not all here (bash, coreutils, xxd, OpenSSL 3 with -rawin), or undefined. */
export function byHandToolsMissing(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v bash sha256sum base64 xxd openssl awk'], { encoding: 'utf8' });
  if (which.status !== 0) return `missing: ${which.stdout.trim().split('\n').length} of 6 tools found`;
  const v = spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout;
  return /^OpenSSL [3-9]/.test(v) ? undefined : `OpenSSL 3 needed for pkeyutl -rawin, found ${v.trim()}`;
}

export interface ByHandResult {
  readonly code: number | null;
  readonly out: string;
}

/** Runs the helpers and the `check` block (inclusion | consistency) in `dir`, as `bash -eu check.sh` would. */
export function runByHand(dir: string, check: 'inclusion' | 'consistency', vkey: string): ByHandResult {
  const blocks = byHandBlocks();
  const script = `${blocks.helpers}\n${blocks[check]}`;
  const r = spawnSync('bash', ['-eu', '-c', script], { cwd: dir, env: { PATH: process.env.PATH, VKEY: vkey }, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
