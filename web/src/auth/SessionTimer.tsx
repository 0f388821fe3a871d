/**
 * Warns before the session ends: two minutes before idleness would end it ("Stay signed in" asks
 * the server, which counts as activity), ten minutes before its absolute limit (nothing extends
 * that: sign in again). When the estimate says it has ended, the server is asked before the
 * person is sent to sign in, so a conservative estimate never signs anyone out early.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { onApiEvent } from '../api/http.js';
import { formatIstDateTime } from '../../../src/hospital/registration/rules.js';
import { currentSession, type SessionInfo } from './api.js';
import { DEFAULT_IDLE_MS, localEnd, mmss, phaseAt, type SessionClock, type SessionPhase } from './idle.js';

export function SessionTimer({
  session,
  onEnded,
  onSignOut,
}: {
  readonly session: SessionInfo;
  readonly onEnded: (why: string) => void;
  readonly onSignOut: () => void;
}) {
  const idleMs = session.idleTimeoutSeconds ? session.idleTimeoutSeconds * 1000 : DEFAULT_IDLE_MS;
  const [clock, setClock] = useState<SessionClock>(() => ({ lastAnswerAt: Date.now(), idleMs, endsAt: Date.parse(session.expiresAt) }));
  const [now, setNow] = useState(() => Date.now());
  const checking = useRef(false);
  const stayRef = useRef<HTMLButtonElement>(null);

  useEffect(
    () =>
      onApiEvent((e) => {
        if (e.kind !== 'answered') return;
        const skew = e.serverDate === undefined ? 0 : e.serverDate - e.at;
        // The Date header has whole seconds: a skew under two seconds is noise.
        setClock((c) => ({ ...c, lastAnswerAt: e.at, endsAt: localEnd(session.expiresAt, Math.abs(skew) < 2000 ? 0 : skew) }));
      }),
    [session.expiresAt],
  );

  const phase: SessionPhase = phaseAt(clock, now);

  const confirmEnded = useCallback(
    async (reason: 'idle' | 'limit') => {
      if (checking.current) return;
      checking.current = true;
      try {
        const s = await currentSession();
        if (s?.stage === 'active') return; // still alive: the answer counted as activity
        onEnded(
          reason === 'idle'
            ? `You were signed out after ${Math.round(idleMs / 60_000)} minutes without activity. Sign in again to continue.`
            : 'Your session reached its time limit. Sign in again to continue.',
        );
      } catch {
        // Unreachable server: try again at the next tick.
      } finally {
        checking.current = false;
      }
    },
    [idleMs, onEnded],
  );

  // Tick each second while a warning shows; otherwise sleep until the next warning is due. When
  // the estimate says the session is over, ask the server.
  useEffect(() => {
    const p = phaseAt(clock, now);
    if (p.kind === 'ended') void confirmEnded(p.reason);
    const wait = p.kind === 'active' ? Math.max(1000, p.nextCheckAt - now) : 1000;
    const t = setTimeout(() => setNow(Date.now()), Math.min(wait, 60_000));
    return () => clearTimeout(t);
  }, [clock, now, confirmEnded]);

  const stay = () =>
    void currentSession().then(
      (s) => (s?.stage === 'active' ? setNow(Date.now()) : onEnded('Your session had already ended. Sign in again to continue.')),
      () => setNow(Date.now()),
    );

  const warning = phase.kind === 'idle-warning';
  useEffect(() => {
    if (warning) stayRef.current?.focus();
  }, [warning]);

  if (phase.kind === 'idle-warning') {
    return (
      <div className="overlay">
        <div className="dialog" role="alertdialog" aria-modal="true" aria-labelledby="idle-title" aria-describedby="idle-text">
          <h2 id="idle-title">Are you still there?</h2>
          <p id="idle-text">
            For the patients' privacy you will be signed out in <strong data-testid="idle-countdown">{mmss(phase.endsAt - now)}</strong>{' '}
            because nothing has been sent to the server for a while. Anything typed but not saved is lost then.
          </p>
          <div className="actions">
            <button type="button" className="primary" ref={stayRef} onClick={stay}>
              Stay signed in
            </button>
            <button type="button" onClick={onSignOut}>
              Sign out now
            </button>
          </div>
        </div>
      </div>
    );
  }
  if (phase.kind === 'ending') {
    return (
      <div className="banner banner-warning session-ending" role="status">
        Your session reaches its time limit at {formatIstDateTime(new Date(phase.endsAt).toISOString()).slice(11)} (in{' '}
        {mmss(phase.endsAt - now)}). Save your work: you will need to sign in again then.
      </div>
    );
  }
  return null;
}
