/** When the web app warns of, and notices, the end of a session (web/src/auth/idle.ts). */
import { describe, expect, it } from 'vitest';
import { DEFAULT_IDLE_MS, idleEndsAt, mmss, phaseAt } from '../../web/src/auth/idle.js';
import { ruleOf } from '../../web/src/api/outcome.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-25T04:00:00Z');
const clock = { lastAnswerAt: T0, idleMs: DEFAULT_IDLE_MS, endsAt: T0 + 12 * 60 * MIN };

describe('the session clock', () => {
  it('ends idleness a minute early (the server records activity once a minute) and warns two minutes before', () => {
    expect(idleEndsAt(clock)).toBe(T0 + 29 * MIN);
    expect(phaseAt(clock, T0 + 26 * MIN)).toEqual({ kind: 'active', nextCheckAt: T0 + 27 * MIN });
    expect(phaseAt(clock, T0 + 27 * MIN)).toEqual({ kind: 'idle-warning', endsAt: T0 + 29 * MIN });
    expect(phaseAt(clock, T0 + 29 * MIN)).toEqual({ kind: 'ended', reason: 'idle' });
  });

  it('scales the margins down for short idle times', () => {
    const short = { ...clock, idleMs: 2 * MIN };
    expect(idleEndsAt(short)).toBe(T0 + 1.5 * MIN);
    expect(phaseAt(short, T0 + 1.1 * MIN).kind).toBe('idle-warning');
  });

  it('announces the absolute end ten minutes ahead, and nothing extends it', () => {
    const late = { ...clock, lastAnswerAt: T0 + 11 * 60 * MIN + 55 * MIN };
    expect(phaseAt(late, T0 + 11 * 60 * MIN + 51 * MIN)).toEqual({ kind: 'ending', endsAt: clock.endsAt });
    expect(phaseAt(late, clock.endsAt)).toEqual({ kind: 'ended', reason: 'limit' });
    expect(mmss(125_000)).toBe('2:05');
    expect(mmss(-1)).toBe('0:00');
  });

  it('reads the rule out of an access refusal', () => {
    expect(ruleOf("access denied by rule 'role-category': front desk reads no clinical data")).toBe('role-category');
    expect(ruleOf('sign in first')).toBeUndefined();
  });
});
