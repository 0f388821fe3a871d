/**
 * Identity micro-benchmark (issue 5, "Must show": the cost of one argon2id hash).
 *
 *   npx tsx bench/identity.ts [--n 30]
 *
 * Times, sequentially on one thread of the libuv pool: argon2id hashing and verifying with the
 * OWASP parameters the server uses (m = 19 MiB, t = 2, p = 1), the NIST password-policy check,
 * a TOTP verification and the CSRF token derivation. Prints a markdown table (median, p90 in ms).
 * Sign-in cost is dominated by one argon2id verification; a burst of N concurrent sign-ins uses
 * up to 4 libuv threads (UV_THREADPOOL_SIZE) and 19 MiB each.
 */
import { ARGON2_PARAMS, hashPassword, passwordProblems, verifyPassword } from '../src/security/identity/password.js';
import { csrfTokenFor, newToken } from '../src/security/identity/tokens.js';
import { newTotpSecret, totp, verifyTotp } from '../src/security/identity/totp.js';

const n = Number(process.argv[process.argv.indexOf('--n') + 1]) || 30;

async function time(label: string, fn: () => unknown | Promise<unknown>, times = n): Promise<[string, number, number]> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return [label, ms[Math.floor(ms.length / 2)] as number, ms[Math.floor(ms.length * 0.9)] as number];
}

const pw = 'monsoon lantern pickle river';
const phc = await hashPassword(pw);
const secret = newTotpSecret();
const token = newToken();
const rows = [
  await time(`argon2id hash (m=${ARGON2_PARAMS.memoryCost} KiB, t=${ARGON2_PARAMS.timeCost}, p=${ARGON2_PARAMS.parallelism})`, () =>
    hashPassword(pw),
  ),
  await time('argon2id verify (a sign-in)', () => verifyPassword(phc, pw)),
  await time(
    'password policy check (49,233-entry list, sequences, context)',
    () => passwordProblems(pw, { username: 'dr.iyer', displayName: 'Meera Iyer' }),
    n * 100,
  ),
  await time('TOTP verify (3 steps)', () => verifyTotp(secret, totp(secret, Date.now() / 1000), Date.now() / 1000), n * 100),
  await time('CSRF token (HMAC-SHA-256)', () => csrfTokenFor(token), n * 100),
];
process.stdout.write(`| operation | median ms | p90 ms |\n|---|---|---|\n`);
for (const [label, med, p90] of rows) process.stdout.write(`| ${label} | ${med.toFixed(3)} | ${p90.toFixed(3)} |\n`);
