/**
 * WebAuthn (passkeys, security keys) as the second option after TOTP, on both databases, with a
 * software authenticator: registration from a signed-in session, sign-in with an assertion,
 * refusal of a phishing origin, a replayed challenge and a cloned key (counter going back), and
 * removal by an MFA reset.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestContext } from '../../src/fhir/context.js';
import type { IdentityError } from '../../src/security/identity/service.js';
import { base32Decode, totp } from '../../src/security/identity/totp.js';
import { testDbKinds } from '../support/db.js';
import { SoftAuthenticator } from './authenticator.js';
import { type IdentityHarness, OPERATOR, openIdentity } from './helpers.js';

const RP = { id: 'ehospital.example.in', origin: 'https://ehospital.example.in' };

async function rejection(p: Promise<unknown>): Promise<IdentityError> {
  try {
    await p;
  } catch (err) {
    return err as IdentityError;
  }
  throw new Error('expected a rejection');
}

describe.each(testDbKinds())('WebAuthn second factor on $name', (kind) => {
  let h: IdentityHarness;
  const op = (): RequestContext => ({ ...h.ctx('127.0.0.1'), actor: OPERATOR });
  const password = 'peacock feathers in the rain';

  beforeAll(async () => {
    h = await openIdentity(kind);
    const { initialPassword } = await h.s.identity.createAccount(op(), { username: 'dr.bhat', displayName: 'Dr Bhat', roles: ['doctor'] });
    let step = await h.s.identity.signIn(h.ctx(), { username: 'dr.bhat', password: initialPassword });
    step = await h.s.identity.choosePassword(h.ctx(), step.sessionToken, password);
    const { secret } = await h.s.identity.beginTotp(h.ctx(), step.sessionToken);
    const done = await h.s.identity.confirmTotp(h.ctx(), step.sessionToken, totp(base32Decode(secret), h.clock.now / 1000));
    active = done.sessionToken;
  });
  afterAll(async () => {
    await h?.close();
  });
  let active = '';
  const key = new SoftAuthenticator();

  it('registers a passkey from a signed-in session and signs in with it instead of a TOTP code', async () => {
    const options = (await h.s.identity.webauthnRegistrationOptions(h.ctx(), active, RP)) as { challenge: string; rp: { id: string } };
    expect(options.rp.id).toBe(RP.id);
    const reg = await h.s.identity.webauthnRegister(h.ctx(), active, key.register(options, RP.origin), RP, 'ward laptop key');
    expect(reg.name).toBe('ward laptop key');
    expect((await h.s.identity.accountByUsername('dr.bhat'))?.webauthnCredentials).toBe(1);

    const step = await h.s.identity.signIn(h.ctx(), { username: 'dr.bhat', password });
    expect(step.session.stage).toBe('mfa');
    const req = (await h.s.identity.webauthnAuthenticationOptions(h.ctx(), step.sessionToken, RP)) as { challenge: string; rpId: string };
    const out = await h.s.identity.verifyMfa(h.ctx(), step.sessionToken, { webauthn: key.assert(req, RP.origin), rp: RP });
    expect(out.session.stage).toBe('active');
    expect(h.audit.entries.some((e) => e.outcome.rule === 'signed-in-webauthn')).toBe(true);
  });

  it('refuses an assertion made for another origin (phishing), a replayed challenge and a cloned key', async () => {
    const step = await h.s.identity.signIn(h.ctx(), { username: 'dr.bhat', password });
    let req = (await h.s.identity.webauthnAuthenticationOptions(h.ctx(), step.sessionToken, RP)) as { challenge: string };
    const phished = key.assert({ ...req, rpId: RP.id }, 'https://ehospital-login.example.com');
    expect((await rejection(h.s.identity.verifyMfa(h.ctx(), step.sessionToken, { webauthn: phished, rp: RP }))).status).toBe(401);
    // The challenge was used up by the failed attempt.
    const replay = key.assert(req, RP.origin);
    expect((await rejection(h.s.identity.verifyMfa(h.ctx(), step.sessionToken, { webauthn: replay, rp: RP }))).status).toBe(401);
    // A clone whose counter lags behind the real key is refused.
    req = (await h.s.identity.webauthnAuthenticationOptions(h.ctx(), step.sessionToken, RP)) as { challenge: string };
    key.counter -= 3;
    expect(
      (await rejection(h.s.identity.verifyMfa(h.ctx(), step.sessionToken, { webauthn: key.assert(req, RP.origin), rp: RP }))).status,
    ).toBe(401);
    key.counter += 10;
    req = (await h.s.identity.webauthnAuthenticationOptions(h.ctx(), step.sessionToken, RP)) as { challenge: string };
    expect((await h.s.identity.verifyMfa(h.ctx(), step.sessionToken, { webauthn: key.assert(req, RP.origin), rp: RP })).session.stage).toBe(
      'active',
    );
  });

  it('is removed by an MFA reset', async () => {
    const a = await h.s.identity.resetMfa(op(), 'dr.bhat');
    expect(a.webauthnCredentials).toBe(0);
    const rows = await h.s.db.query('SELECT 1 FROM staff_webauthn');
    expect(rows.rows).toHaveLength(0);
  });
});
