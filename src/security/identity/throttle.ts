/**
 * Brute-force defence for sign-in: failure counters with exponential back-off, kept in the
 * database so every app server behind the proxy sees the same counts.
 *
 * Four counters, each with its own threshold (failures within a window before back-off starts):
 *
 * | counter  | counts failures of                                | stops                          |
 * |----------|---------------------------------------------------|--------------------------------|
 * | address  | every sign-in from one client address (IPv6: /64) | credential stuffing and spraying from one place |
 * | account  | one username, from browsers NOT known to it        | guessing one account's password |
 * | device   | one username from one browser known to it          | a stolen device cookie used to guess |
 * | global   | the whole hospital                                 | spraying from many addresses    |
 *
 * Past the threshold each failure blocks the counter for base × 2^(failures − threshold), up to
 * the cap (the temporary lock-out). A successful sign-in clears the account and device counters;
 * nothing clears an address or the global counter but time (an attacker with one valid account
 * cannot reset them).
 *
 * Why a department cannot be locked out: the account counter, which an attacker anywhere can drive
 * up for a known username, applies only to browsers that have never completed a sign-in to that
 * account. A member of staff on their usual workstation carries a device cookie for their account
 * and passes the account, address and global blocks; only their own device counter (which the
 * attacker, lacking that cookie, cannot touch) can stop them. The price: an attacker who steals a
 * device cookie gets its own small budget of guesses (the device threshold) before it is blocked,
 * and staff on a new or cleared browser wait out an account block like everyone else.
 *
 * Counters are keyed by the username tried, whether or not an account has it, so blocking behaves
 * the same for existing and unknown usernames (no enumeration through lock-outs).
 */
import { isIPv6 } from 'node:net';
import type { Db } from '../../store/db.js';

export interface ThrottleRule {
  /** Failures within the window before back-off starts. */
  readonly threshold: number;
  readonly windowMs: number;
  /** The first back-off; each further failure doubles it... */
  readonly baseMs: number;
  /** ...up to this (the lock-out). */
  readonly capMs: number;
}

export type ThrottleKind = 'address' | 'account' | 'device' | 'global';
export type ThrottlePolicy = Record<ThrottleKind, ThrottleRule>;

const MINUTE = 60_000;
export const DEFAULT_THROTTLE: ThrottlePolicy = {
  // A hospital's staff may share one NAT address: a higher threshold, and known devices pass.
  address: { threshold: 30, windowMs: 15 * MINUTE, baseMs: 1000, capMs: 15 * MINUTE },
  account: { threshold: 5, windowMs: 60 * MINUTE, baseMs: 1000, capMs: 15 * MINUTE },
  device: { threshold: 5, windowMs: 60 * MINUTE, baseMs: 1000, capMs: 15 * MINUTE },
  global: { threshold: 1000, windowMs: 5 * MINUTE, baseMs: 1000, capMs: MINUTE },
};

export interface ThrottleKey {
  readonly kind: ThrottleKind;
  readonly key: string;
}

export interface Block {
  readonly kind: ThrottleKind;
  readonly until: Date;
}

export interface FailureCount {
  readonly kind: ThrottleKind;
  readonly failures: number;
  readonly blockedUntil: Date | null;
  /** This failure started the back-off (failures reached the threshold): a lock-out event. */
  readonly started: boolean;
}

/** The part of an address that one attacker controls: an IPv4 address, or an IPv6 /64. */
export function addressKey(address: string): string {
  const a = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (!isIPv6(a)) return `addr:${a}`;
  const [head = '', tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return `addr:${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}

export class Throttle {
  constructor(
    private readonly db: Db,
    private readonly tenantId: string,
    private readonly policy: ThrottlePolicy = DEFAULT_THROTTLE,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The longest block in force among these counters, or null. */
  async blocked(keys: readonly ThrottleKey[]): Promise<Block | null> {
    if (keys.length === 0) return null;
    const res = await this.db.query<{ key: string; blocked_until: Date | null }>(
      'SELECT key, blocked_until FROM auth_throttle WHERE tenant_id = $1 AND key = ANY($2::text[]) AND blocked_until > $3',
      [this.tenantId, keys.map((k) => k.key), this.now()],
    );
    let worst: Block | null = null;
    for (const row of res.rows) {
      const kind = keys.find((k) => k.key === row.key)?.kind;
      if (!kind || !row.blocked_until) continue;
      if (!worst || row.blocked_until > worst.until) worst = { kind, until: row.blocked_until };
    }
    return worst;
  }

  /** Counts a failure on each counter and sets its back-off. */
  async fail(keys: readonly ThrottleKey[]): Promise<FailureCount[]> {
    const now = this.now();
    const out: FailureCount[] = [];
    for (const { kind, key } of keys) {
      const rule = this.policy[kind];
      const windowStart = new Date(now.getTime() - rule.windowMs);
      const res = await this.db.query<{ failures: number }>(
        `INSERT INTO auth_throttle (tenant_id, key, failures, first_failure_at, last_failure_at)
         VALUES ($1, $2, 1, $3, $3)
         ON CONFLICT (tenant_id, key) DO UPDATE SET
           failures = CASE WHEN auth_throttle.last_failure_at < $4 THEN 1 ELSE auth_throttle.failures + 1 END,
           first_failure_at = CASE WHEN auth_throttle.last_failure_at < $4 THEN $3 ELSE auth_throttle.first_failure_at END,
           last_failure_at = $3
         RETURNING failures`,
        [this.tenantId, key, now, windowStart],
      );
      const failures = Number(res.rows[0]?.failures ?? 1);
      let blockedUntil: Date | null = null;
      if (failures >= rule.threshold) {
        const delay = Math.min(rule.capMs, rule.baseMs * 2 ** Math.min(30, failures - rule.threshold));
        blockedUntil = new Date(now.getTime() + delay);
        await this.db.query('UPDATE auth_throttle SET blocked_until = $3 WHERE tenant_id = $1 AND key = $2', [
          this.tenantId,
          key,
          blockedUntil,
        ]);
      }
      out.push({ kind, failures, blockedUntil, started: failures === rule.threshold });
    }
    return out;
  }

  /** Forgets the counters (after a successful sign-in: the account and device ones). */
  async clear(keys: readonly ThrottleKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.query('DELETE FROM auth_throttle WHERE tenant_id = $1 AND key = ANY($2::text[])', [
      this.tenantId,
      keys.map((k) => k.key),
    ]);
  }
}
