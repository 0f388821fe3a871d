/**
 * Signing in, every step the server asks for (src/http/auth.ts): username and password; a new
 * password at the first sign-in; enrolling an authenticator app (QR code and the secret as text)
 * and keeping the recovery codes, shown once; afterwards a code from the app, or a recovery code.
 * Each error is shown beside the field it is about.
 */
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError, describeError } from '../api/outcome.js';
import { TextField } from '../ui/Field.js';
import { beginTotp, choosePassword, confirmTotp, currentSession, type SessionInfo, signIn, verifyCode, verifyRecoveryCode } from './api.js';
import { QrCode } from './QrCode.js';

type Step =
  | { readonly kind: 'credentials' }
  | { readonly kind: 'password' }
  | { readonly kind: 'enrol' }
  | { readonly kind: 'recovery-codes'; readonly codes: readonly string[]; readonly session: SessionInfo }
  | { readonly kind: 'mfa' };

function stepFor(s: SessionInfo): Step | 'done' {
  switch (s.stage) {
    case 'password':
      return { kind: 'password' };
    case 'enrol':
      return { kind: 'enrol' };
    case 'mfa':
      return { kind: 'mfa' };
    default:
      return 'done';
  }
}

/**
 * What a failed step means. The server answers 401 both to a wrong code (which also counts
 * against the account) and to a sign-in that ended mid-way (pre-MFA stages last 10 minutes; five
 * wrong codes end them too): asking for the session tells which.
 */
async function failure(err: unknown): Promise<'ended' | 'wrong' | 'other'> {
  if (!(err instanceof ApiError) || err.status !== 401) return 'other';
  try {
    return (await currentSession()) ? 'wrong' : 'ended';
  } catch {
    return 'other';
  }
}

const WRONG_CODE =
  'That code is not right, or was used already. Type the code the app shows now (and check that the phone’s clock is right).';
const ENDED = 'The sign-in took too long or had too many wrong codes, and was ended. Sign in again.';

export function SignIn({
  pending,
  notice,
  onSignedIn,
}: {
  /** A sign-in this browser had begun (after a reload), to continue at its stage. */
  readonly pending?: SessionInfo | null;
  /** Why the person is here (e.g. the session ended), shown above the form. */
  readonly notice?: string | undefined;
  readonly onSignedIn: (s: SessionInfo) => void;
}) {
  const initial = pending ? stepFor(pending) : undefined;
  const [step, setStep] = useState<Step>(initial && initial !== 'done' ? initial : { kind: 'credentials' });
  const [message, setMessage] = useState<string | undefined>(notice);

  const advance = (s: SessionInfo) => {
    setMessage(undefined);
    const next = stepFor(s);
    if (next === 'done') onSignedIn(s);
    else setStep(next);
  };
  const restart = (why: string) => {
    setMessage(why);
    setStep({ kind: 'credentials' });
  };

  return (
    <main className="signin">
      <div className="signin-card">
        <header className="signin-brand">
          <span className="logo" aria-hidden="true" />
          <div>
            <h1>Sushruta</h1>
            <p>Hospital information system</p>
          </div>
        </header>
        {message ? (
          <div className="banner banner-info" role="status">
            {message}
          </div>
        ) : null}
        {step.kind === 'credentials' ? <Credentials onDone={advance} /> : null}
        {step.kind === 'password' ? <NewPassword onDone={advance} onExpired={restart} /> : null}
        {step.kind === 'enrol' ? (
          <Enrol onDone={(s, codes) => setStep({ kind: 'recovery-codes', codes, session: s })} onExpired={restart} />
        ) : null}
        {step.kind === 'recovery-codes' ? <RecoveryCodes codes={step.codes} onDone={() => onSignedIn(step.session)} /> : null}
        {step.kind === 'mfa' ? <SecondFactor onDone={advance} onExpired={restart} /> : null}
      </div>
    </main>
  );
}

function useFocus<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}

function Credentials({ onDone }: { readonly onDone: (s: SessionInfo) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ username?: string; password?: string }>({});
  const [busy, setBusy] = useState(false);
  const first = useFocus<HTMLInputElement>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const missing = {
      ...(username.trim() ? {} : { username: 'Type your username' }),
      ...(password ? {} : { password: 'Type your password' }),
    };
    setErrors(missing);
    if (missing.username || missing.password) return;
    setBusy(true);
    try {
      onDone(await signIn(username.trim(), password));
    } catch (err) {
      setPassword('');
      setErrors({ password: describeError(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate aria-label="Sign in">
      <h2>Sign in</h2>
      <TextField
        label="Username"
        name="username"
        autoComplete="username"
        autoCapitalize="none"
        spellCheck={false}
        inputRef={first}
        value={username}
        onChange={(e) => setUsername(e.target.value)}
        error={errors.username}
      />
      <TextField
        label="Password"
        name="password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={errors.password}
      />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

const MIN_PASSWORD = 12;

function NewPassword({ onDone, onExpired }: { readonly onDone: (s: SessionInfo) => void; readonly onExpired: (why: string) => void }) {
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [errors, setErrors] = useState<{ password?: string; repeat?: string }>({});
  const [busy, setBusy] = useState(false);
  const first = useFocus<HTMLInputElement>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problems: { password?: string; repeat?: string } = {};
    if ([...password].length < MIN_PASSWORD)
      problems.password = `Use at least ${MIN_PASSWORD} characters; a few words you can remember work well`;
    else if (password !== repeat) problems.repeat = 'The two passwords differ';
    setErrors(problems);
    if (problems.password || problems.repeat) return;
    setBusy(true);
    try {
      onDone(await choosePassword(password));
    } catch (err) {
      if ((await failure(err)) === 'ended') onExpired('The sign-in took too long and was ended. Sign in again with your initial password.');
      else setErrors({ password: describeError(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate aria-label="Choose a new password">
      <h2>Choose your own password</h2>
      <p className="lead">
        The password you were given works once. Choose one only you know: at least {MIN_PASSWORD} characters; a short sentence is easy to
        type and hard to guess.
      </p>
      <TextField
        label="New password"
        name="new-password"
        type="password"
        autoComplete="new-password"
        inputRef={first}
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={errors.password}
      />
      <TextField
        label="New password again"
        name="repeat-password"
        type="password"
        autoComplete="new-password"
        value={repeat}
        onChange={(e) => setRepeat(e.target.value)}
        error={errors.repeat}
      />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Saving…' : 'Save password'}
      </button>
    </form>
  );
}

/** The secret in groups of four, as authenticator apps show it for typing. */
function grouped(secret: string): string {
  return secret.replace(/(.{4})/g, '$1 ').trim();
}

function Enrol({
  onDone,
  onExpired,
}: {
  readonly onDone: (s: SessionInfo, codes: readonly string[]) => void;
  readonly onExpired: (why: string) => void;
}) {
  const [secret, setSecret] = useState<{ secret: string; uri: string } | undefined>();
  const [loadError, setLoadError] = useState<unknown>();
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const started = useRef(false);
  const codeRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    beginTotp().then(
      (s) => {
        setSecret(s);
        setTimeout(() => codeRef.current?.focus(), 0);
      },
      async (err) => {
        if ((await failure(err)) === 'ended') onExpired(ENDED);
        else setLoadError(err);
      },
    );
  }, [onExpired]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const c = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(c)) {
      setError('Type the 6-digit code your authenticator app shows now');
      return;
    }
    setBusy(true);
    try {
      const out = await confirmTotp(c);
      onDone(out, out.recoveryCodes);
    } catch (err) {
      const why = await failure(err);
      if (why === 'ended') onExpired(ENDED);
      else setError(why === 'wrong' ? WRONG_CODE : describeError(err));
      setCode('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate aria-label="Set up an authenticator app">
      <h2>Set up your authenticator app</h2>
      <p className="lead">
        Every sign-in needs a code from an authenticator app on your phone (Google Authenticator, Microsoft Authenticator, FreeOTP or
        similar). Add an account in the app by scanning this code, or by typing the key below.
      </p>
      {loadError ? <div className="banner banner-error">{describeError(loadError)}</div> : null}
      {secret ? (
        <div className="enrol">
          <QrCode text={secret.uri} label="QR code for your authenticator app" />
          <div>
            <div className="muted">Key to type instead</div>
            <code className="secret" data-testid="totp-secret">
              {grouped(secret.secret)}
            </code>
            <div className="muted small">Time-based, 6 digits, every 30 seconds</div>
          </div>
        </div>
      ) : (
        !loadError && <p className="muted">Preparing…</p>
      )}
      <TextField
        label="Code from the app"
        name="totp-code"
        inputMode="numeric"
        autoComplete="one-time-code"
        maxLength={7}
        inputRef={codeRef}
        value={code}
        onChange={(e) => setCode(e.target.value)}
        error={error}
        disabled={!secret}
      />
      <button type="submit" className="primary" disabled={busy || !secret}>
        {busy ? 'Checking…' : 'Confirm'}
      </button>
    </form>
  );
}

function RecoveryCodes({ codes, onDone }: { readonly codes: readonly string[]; readonly onDone: () => void }) {
  const [stored, setStored] = useState(false);
  const first = useFocus<HTMLInputElement>();
  return (
    <form
      aria-label="Recovery codes"
      onSubmit={(e) => {
        e.preventDefault();
        if (stored) onDone();
      }}
    >
      <h2>Keep your recovery codes</h2>
      <p className="lead">
        If you lose your phone, each of these codes signs you in once instead of the app. Write them down or print them and keep them away
        from the computer. <strong>They are shown only now.</strong>
      </p>
      <ol className="recovery-codes" data-testid="recovery-codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <label className="check">
        <input type="checkbox" ref={first} checked={stored} onChange={(e) => setStored(e.target.checked)} />I have stored these codes
      </label>
      <button type="submit" className="primary" disabled={!stored}>
        Continue
      </button>
    </form>
  );
}

function SecondFactor({ onDone, onExpired }: { readonly onDone: (s: SessionInfo) => void; readonly onExpired: (why: string) => void }) {
  const [useRecovery, setUseRecovery] = useState(false);
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLInputElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: focus again when the kind of code changes
  useEffect(() => ref.current?.focus(), [useRecovery]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const v = value.replace(/\s/g, '');
    if (!useRecovery && !/^\d{6}$/.test(v)) {
      setError('Type the 6-digit code your authenticator app shows now');
      return;
    }
    if (useRecovery && v.length < 8) {
      setError('Type one of your recovery codes');
      return;
    }
    setBusy(true);
    try {
      onDone(useRecovery ? await verifyRecoveryCode(value.trim()) : await verifyCode(v));
    } catch (err) {
      const why = await failure(err);
      if (why === 'ended') onExpired(ENDED);
      else
        setError(
          why === 'wrong' ? (useRecovery ? 'That recovery code is not right, or was used already.' : WRONG_CODE) : describeError(err),
        );
      setValue('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate aria-label="Second factor">
      <h2>{useRecovery ? 'Recovery code' : 'Code from your authenticator app'}</h2>
      <TextField
        label={useRecovery ? 'Recovery code' : '6-digit code'}
        name={useRecovery ? 'recovery-code' : 'totp-code'}
        inputMode={useRecovery ? 'text' : 'numeric'}
        autoComplete="one-time-code"
        autoCapitalize="none"
        spellCheck={false}
        inputRef={ref}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        error={error}
      />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Checking…' : 'Sign in'}
      </button>
      <button
        type="button"
        className="link"
        onClick={() => {
          setUseRecovery(!useRecovery);
          setValue('');
          setError(undefined);
        }}
      >
        {useRecovery ? 'Use the code from the app instead' : 'Lost your phone? Use a recovery code'}
      </button>
    </form>
  );
}
