/**
 * The app: find out whether this browser is signed in, sign in if not, then the screens the
 * person's roles call for. A 401 from any request (the session ended elsewhere, or was revoked)
 * brings the sign-in back with a word on why.
 */
import { useCallback, useEffect, useState } from 'react';
import { onApiEvent, setCsrfToken } from '../api/http.js';
import { describeError } from '../api/outcome.js';
import { AccountsPage } from '../admin/AccountsPage.js';
import { currentSession, type SessionInfo, signOut } from '../auth/api.js';
import { SessionTimer } from '../auth/SessionTimer.js';
import { SignIn } from '../auth/SignIn.js';
import { ConditionsPage } from '../patients/ConditionsPage.js';
import { PatientPage } from '../patients/PatientPage.js';
import { forgetLastSearch, PatientFinder } from '../registration/PatientFinder.js';
import { RegistrationDesk } from '../registration/RegistrationDesk.js';
import { roleLabel, SCREEN_LABEL, SCREEN_PATH, type Screen, screensFor } from './roles.js';
import { Link, match, navigate, usePath } from './router.js';

type State =
  | { readonly kind: 'loading' }
  | { readonly kind: 'unreachable'; readonly error: unknown }
  | { readonly kind: 'signed-out'; readonly pending?: SessionInfo; readonly notice?: string }
  | { readonly kind: 'signed-in'; readonly session: SessionInfo };

export function App() {
  const [state, setState] = useState<State>({ kind: 'loading' });

  const load = useCallback(() => {
    currentSession().then(
      (s) =>
        setState(
          !s ? { kind: 'signed-out' } : s.stage === 'active' ? { kind: 'signed-in', session: s } : { kind: 'signed-out', pending: s },
        ),
      (error) => setState({ kind: 'unreachable', error }),
    );
  }, []);
  useEffect(() => load(), [load]);

  const ended = useCallback((notice: string) => {
    setCsrfToken('');
    forgetLastSearch();
    setState({ kind: 'signed-out', notice });
  }, []);
  useEffect(() => onApiEvent((e) => e.kind === 'signed-out' && ended(e.message)), [ended]);

  const doSignOut = useCallback(async () => {
    try {
      await signOut();
    } catch {
      // Already ended: nothing more to do.
    }
    ended('You have signed out.');
    navigate('/', { replace: true });
  }, [ended]);

  switch (state.kind) {
    case 'loading':
      return <p className="splash">Sushruta…</p>;
    case 'unreachable':
      return (
        <main className="signin">
          <div className="signin-card">
            <h1>Sushruta</h1>
            <div className="banner banner-error" role="alert">
              {describeError(state.error)}
            </div>
            <button type="button" className="primary" onClick={load}>
              Try again
            </button>
          </div>
        </main>
      );
    case 'signed-out':
      return (
        <SignIn pending={state.pending ?? null} notice={state.notice} onSignedIn={(session) => setState({ kind: 'signed-in', session })} />
      );
    case 'signed-in':
      return <Shell session={state.session} onSignOut={doSignOut} onEnded={ended} />;
  }
}

function Shell({
  session,
  onSignOut,
  onEnded,
}: {
  readonly session: SessionInfo;
  readonly onSignOut: () => void;
  readonly onEnded: (why: string) => void;
}) {
  const path = usePath();
  const roles = session.account.roles;
  const screens = screensFor(roles);
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <span className="logo" aria-hidden="true" />
          Sushruta
        </Link>
        <nav aria-label="Main">
          {screens.map((s) => (
            <Link key={s} to={SCREEN_PATH[s]} aria-current={path.startsWith(SCREEN_PATH[s]) ? 'page' : undefined}>
              {SCREEN_LABEL[s]}
            </Link>
          ))}
        </nav>
        <div className="who">
          <span>
            <strong>{session.account.displayName}</strong>
            <span className="muted small"> · {roles.map(roleLabel).join(', ')}</span>
          </span>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <SessionTimer session={session} onEnded={onEnded} onSignOut={onSignOut} />
      <main id="main">
        <Routes path={path} roles={roles} screens={screens} />
      </main>
    </div>
  );
}

function Routes({
  path,
  roles,
  screens,
}: {
  readonly path: string;
  readonly roles: readonly string[];
  readonly screens: readonly Screen[];
}) {
  const first = screens[0];
  useEffect(() => {
    if ((path === '/' || path === '') && first) navigate(SCREEN_PATH[first], { replace: true });
  }, [path, first]);

  if (path === '/register')
    return screens.includes('registration') ? <RegistrationDesk mode="search" /> : <NotYours what="the registration desk" />;
  if (path === '/register/new')
    return screens.includes('registration') ? <RegistrationDesk mode="new" /> : <NotYours what="the registration desk" />;
  if (path === '/patients') {
    return (
      <div className="page">
        <div className="page-head">
          <h1>Patients</h1>
        </div>
        <PatientFinder />
      </div>
    );
  }
  if (path === '/accounts') return <AccountsPage />;
  const conditions = match('/patients/:id/conditions', path);
  if (conditions?.id) return <ConditionsPage id={conditions.id} />;
  const patient = match('/patients/:id', path);
  if (patient?.id) return <PatientPage id={patient.id} roles={roles} />;
  if (path === '/' || path === '') {
    return first ? null : (
      <div className="page">
        <h1>Signed in</h1>
        <p>
          The web app has no screens for your role ({roles.map(roleLabel).join(', ')}) yet. Audit and security work is done with the{' '}
          <code>sushruta</code> command and the API (README, “For auditors”).
        </p>
      </div>
    );
  }
  return (
    <div className="page">
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link to="/">Go to the start</Link>.
      </p>
    </div>
  );
}

function NotYours({ what }: { readonly what: string }) {
  return (
    <div className="page">
      <h1>Not for your role</h1>
      <p>Your account has no access to {what}. Ask the hospital administrator if your work needs it.</p>
    </div>
  );
}
