/**
 * Staff passwords: argon2id hashing and the NIST SP 800-63B (rev. 3 section 5.1.1.2, rev. 4
 * section 3.1.1.2) password policy.
 *
 * Hashing: argon2id (RFC 9106) through @node-rs/argon2 (a Rust binding: no compiler needed, runs
 * on the libuv thread pool so the event loop never waits), with OWASP's Password Storage Cheat
 * Sheet parameters: m = 19 MiB, t = 2, p = 1 (about 70 ms on the project's 2-core machine). The
 * PHC string stores its parameters, so raising them later only needs `needsRehash` on the next
 * successful sign-in.
 *
 * Policy (what 800-63B asks of a verifier, and nothing it advises against):
 * - at least 12 characters for staff. NIST's floor is 8 for a password used with a second factor
 *   (15 when it is the only one); 12 because staff accounts reach the records of lakhs of patients,
 *   a shared ward workstation makes shoulder-surfing and guessing likelier, and 12 characters of a
 *   passphrase ("four random words") are still easy to type. Counted in Unicode code points
 *   after NFKC normalisation, so Devanagari and other Indian scripts are as welcome as ASCII.
 * - at most 128 characters (NIST: at least 64 must be allowed); longer is refused only to bound
 *   hashing work;
 * - no composition rules (no "one upper case, one digit, one symbol"), no expiry: NIST says they
 *   make passwords weaker and more predictable;
 * - refused: the 49,233 most common passwords of breach corpora (the ranked list of
 *   @zxcvbn-ts/language-common), also after stripping the digits and symbols people add to a
 *   common word ("Password@2024"), repetitive or sequential characters ("aaaaaaaaaaaa",
 *   "123456789012", "qwertyuiopas"), and context words: the username, the person's names, the
 *   service and the hospital ("sushruta", "hospital", "aiims", ...). Each refusal says why.
 */
import { hash, verify } from '@node-rs/argon2';
import { dictionary } from '@zxcvbn-ts/language-common';

/**
 * OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB (19,456 KiB), t = 2, p = 1.
 * `algorithm: 2` is `Algorithm.Argon2id` (a const enum, which isolated modules cannot import).
 */
export const ARGON2_PARAMS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

export function hashPassword(password: string): Promise<string> {
  return hash(password.normalize('NFKC'), ARGON2_PARAMS);
}

/** False for a wrong password or a malformed hash; never throws for a bad guess. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password.normalize('NFKC'));
  } catch {
    return false;
  }
}

/** True when a stored hash was made with other (older, weaker) parameters than today's. */
export function needsRehash(phc: string): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(phc);
  if (!m) return true;
  return Number(m[1]) < ARGON2_PARAMS.memoryCost || Number(m[2]) < ARGON2_PARAMS.timeCost || Number(m[3]) !== ARGON2_PARAMS.parallelism;
}

let dummy: Promise<string> | undefined;
/**
 * A hash of a random password, made once per process. Sign-in verifies against it when the
 * username does not exist, so an unknown user costs the same argon2id work as a wrong password
 * and response times do not tell which usernames exist.
 */
export function dummyHash(): Promise<string> {
  dummy ??= hash(Math.random().toString(36) + Date.now().toString(36), ARGON2_PARAMS);
  return dummy;
}

const COMMON: ReadonlySet<string> = new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));

/** Words specific to this service that an attacker tries first. */
export const SERVICE_WORDS = [
  'sushruta',
  'hospital',
  'aiims',
  'ehospital',
  'e-hospital',
  'password',
  'passw0rd',
  'welcome',
  'doctor',
  'nurse',
];

const SEQUENCES = [
  'abcdefghijklmnopqrstuvwxyz',
  '0123456789',
  'qwertyuiop',
  'asdfghjkl',
  'zxcvbnm',
  '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p',
  'qazwsxedcrfvtgbyhnujmikolp',
];

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i' };

export interface PasswordContext {
  readonly username?: string;
  readonly displayName?: string;
  /** The hospital (tenant) id and any other words of the deployment. */
  readonly extraWords?: readonly string[];
}

/**
 * The reasons a new password is refused (empty: acceptable). Messages are meant for the person
 * choosing it, and never echo the password.
 */
export function passwordProblems(password: string, ctx: PasswordContext = {}): string[] {
  const pw = password.normalize('NFKC');
  const length = [...pw].length;
  const problems: string[] = [];
  if (length < PASSWORD_MIN)
    problems.push(`the password is too short: use at least ${PASSWORD_MIN} characters (a few unrelated words work well)`);
  if (length > PASSWORD_MAX) problems.push(`the password is too long: use at most ${PASSWORD_MAX} characters`);
  if (problems.length > 0) return problems;
  const lower = pw.toLowerCase();
  const core = lower.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
  const unleet = [...lower].map((c) => LEET[c] ?? c).join('');
  if (COMMON.has(lower) || COMMON.has(unleet) || (core.length >= 4 && (COMMON.has(core) || SERVICE_WORDS.includes(core)))) {
    problems.push(
      'the password is one of the most common passwords found in breaches (or one with digits or symbols added); choose another',
    );
  }
  if (/^(.)\1+$/u.test(lower) || /^(.{1,4})\1+$/u.test(lower)) {
    problems.push('the password repeats the same characters; choose something less predictable');
  } else if (isSequential(lower)) {
    problems.push('the password is a keyboard or alphabet sequence; choose something less predictable');
  }
  const words = contextWords(ctx);
  const hit = words.find((w) => lower.includes(w) || unleet.includes(w));
  if (hit) {
    // Built on context words: what is left without them is too little to be a password.
    let rest = lower;
    let restUnleet = unleet;
    for (const w of [...words].sort((a, b) => b.length - a.length)) {
      rest = rest.split(w).join('');
      restUnleet = restUnleet.split(w).join('');
    }
    const left = Math.min(rest.replace(/[^\p{L}\p{N}]/gu, '').length, restUnleet.replace(/[^\p{L}\p{N}]/gu, '').length);
    if (left < 8) {
      const which = SERVICE_WORDS.includes(hit) ? 'the name of this service or a word everyone tries first' : 'your username or name';
      problems.push(`the password is built on ${which}; choose something unrelated`);
    }
  }
  return problems;
}

function contextWords(ctx: PasswordContext): string[] {
  const out = new Set<string>(SERVICE_WORDS);
  const add = (s: string | undefined) => {
    if (!s) return;
    const l = s.normalize('NFKC').toLowerCase();
    if (l.length >= 4) out.add(l);
    for (const part of l.split(/[^\p{L}\p{N}]+/u)) if (part.length >= 4) out.add(part);
  };
  add(ctx.username);
  add(ctx.displayName);
  for (const w of ctx.extraWords ?? []) add(w);
  return [...out];
}

function isSequential(lower: string): boolean {
  const compact = lower.replace(/[^\p{L}\p{N}]/gu, '');
  if (compact.length < 6) return false;
  for (const seq of SEQUENCES) {
    const rev = [...seq].reverse().join('');
    for (const s of [seq, rev]) {
      // Mostly made of one sequence (wrapping around): at most 2 characters outside it.
      let best = 0;
      for (let i = 0; i < compact.length; i++) {
        let j = i;
        let k = s.indexOf(compact[i] as string);
        if (k < 0) continue;
        while (j < compact.length && s[k % s.length] === compact[j]) {
          j++;
          k++;
        }
        best = Math.max(best, j - i);
      }
      if (best >= compact.length - 2) return true;
    }
  }
  return false;
}
