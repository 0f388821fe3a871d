/**
 * When the session ends, as far as the browser can tell. The server ends a session after
 * `idleTimeoutSeconds` without a request (measured from the last request it recorded: it records
 * at most one a minute, so up to a minute before the last one the app sent) and at `expiresAt`
 * whatever happens. The app warns before either, and offers to stay signed in before the first.
 * A server that does not say its idle time gets the configured default, 30 minutes.
 */

export const DEFAULT_IDLE_MS = 30 * 60_000;
/** The server writes a session's last-seen time at most once a minute (src/security/identity). */
export const SERVER_TOUCH_MS = 60_000;
export const WARN_BEFORE_IDLE_MS = 2 * 60_000;
export const WARN_BEFORE_END_MS = 10 * 60_000;

export interface SessionClock {
  /** When (this browser's clock) the server last answered a request of this session. */
  readonly lastAnswerAt: number;
  readonly idleMs: number;
  /** The absolute end, converted to this browser's clock. */
  readonly endsAt: number;
}

export type SessionPhase =
  | { readonly kind: 'active'; readonly nextCheckAt: number }
  | { readonly kind: 'idle-warning'; readonly endsAt: number }
  | { readonly kind: 'ending'; readonly endsAt: number }
  | { readonly kind: 'ended'; readonly reason: 'idle' | 'limit' };

/** The moment idleness ends the session, early by the server's recording slack (never more than a quarter of the idle time). */
export function idleEndsAt(c: SessionClock): number {
  return c.lastAnswerAt - Math.min(SERVER_TOUCH_MS, c.idleMs / 4) + c.idleMs;
}

export function phaseAt(c: SessionClock, now: number): SessionPhase {
  const idleEnd = idleEndsAt(c);
  const warnIdle = idleEnd - Math.min(WARN_BEFORE_IDLE_MS, c.idleMs / 4);
  const warnEnd = c.endsAt - WARN_BEFORE_END_MS;
  if (now >= c.endsAt) return { kind: 'ended', reason: 'limit' };
  if (now >= idleEnd) return { kind: 'ended', reason: 'idle' };
  // Idle first: staying signed in helps with that; nothing helps with the absolute end.
  if (now >= warnIdle && idleEnd <= c.endsAt) return { kind: 'idle-warning', endsAt: idleEnd };
  if (now >= warnEnd) return { kind: 'ending', endsAt: c.endsAt };
  return { kind: 'active', nextCheckAt: Math.min(warnIdle, warnEnd) };
}

/** The absolute end on this browser's clock, from the server's `expiresAt` and the skew its Date header showed. */
export function localEnd(expiresAt: string, serverMinusLocalMs: number): number {
  return Date.parse(expiresAt) - serverMinusLocalMs;
}

/** "4:05" for a countdown. */
export function mmss(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
