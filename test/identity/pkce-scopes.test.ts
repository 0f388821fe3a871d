/**
 * PKCE (RFC 7636) against the RFC's own Appendix B example, the refusal of `plain`, and the SMART
 * scope algebra of apps: what is granted when an app asks for more (or other) than it is
 * registered for, what a refresh may narrow to, and which scopes an app cannot hold.
 */
import { describe, expect, it } from 'vitest';
import { withQuery } from '../../src/security/identity/authorization-request.js';
import { redirectUriProblem } from '../../src/security/identity/clients.js';
import { challengeProblem, s256Challenge, verifierMatches, verifierProblem } from '../../src/security/identity/pkce.js';
import { appScopeProblems, grantAppScopes, intersectScopes, uncoveredScopes } from '../../src/security/identity/scopes.js';

describe('PKCE S256', () => {
  it('matches RFC 7636 Appendix B', () => {
    // The RFC's 32 random octets, their base64url (the verifier), and the SHA-256 of the verifier.
    const octets = [
      116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83,
      132, 141, 121,
    ];
    const verifier = Buffer.from(octets).toString('base64url');
    expect(verifier).toBe('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk');
    const hashed = [
      19, 211, 30, 150, 26, 26, 216, 236, 47, 22, 177, 12, 76, 152, 46, 8, 118, 168, 120, 173, 109, 241, 68, 86, 110, 225, 137, 74, 203,
      112, 249, 195,
    ];
    const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
    expect(Buffer.from(challenge, 'base64url')).toEqual(Buffer.from(hashed));
    expect(s256Challenge(verifier)).toBe(challenge);
    expect(challengeProblem(challenge, 'S256')).toBeNull();
    expect(verifierMatches(verifier, challenge)).toBe(true);
    expect(verifierMatches(`${verifier.slice(0, -1)}j`, challenge)).toBe(false);
    expect(verifierProblem(verifier)).toBeNull();
  });

  it('refuses plain, a missing method, a malformed challenge and a malformed verifier, saying why', () => {
    const c = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
    expect(challengeProblem(c, 'S256')).toBeNull();
    expect(challengeProblem(c, 'plain')).toMatch(/'plain' is not accepted; use S256/);
    expect(challengeProblem(c, null)).toMatch(/code_challenge_method is required/);
    expect(challengeProblem(null, 'S256')).toMatch(/code_challenge is required/);
    expect(challengeProblem('short', 'S256')).toMatch(/43-character/);
    expect(verifierProblem(null)).toMatch(/required/);
    expect(verifierProblem('too-short')).toMatch(/43 to 128/);
    expect(verifierProblem('a'.repeat(129))).toMatch(/43 to 128/);
    expect(verifierProblem(`${'a'.repeat(42)}+`)).toMatch(/43 to 128/);
  });
});

describe('SMART scopes of apps', () => {
  it('grants what was asked, narrowed to the registration', () => {
    const registered = ['user/*.rs', 'user/Observation.cruds', 'offline_access'];
    expect(intersectScopes(['user/Patient.rs'], registered)).toEqual(['user/Patient.rs']);
    expect(intersectScopes(['user/Patient.cruds'], registered)).toEqual(['user/Patient.rs']);
    expect(intersectScopes(['user/Observation.cud'], registered)).toEqual(['user/Observation.cud']);
    expect(intersectScopes(['user/*.cruds'], registered)).toEqual(['user/*.rs', 'user/Observation.cruds']);
    expect(intersectScopes(['user/Patient.read', 'user/Patient.write'], registered)).toEqual(['user/Patient.read']);
    expect(intersectScopes(['online_access', 'offline_access'], registered)).toEqual(['offline_access']);
    expect(intersectScopes(['user/Patient.c'], ['user/Patient.rs'])).toEqual([]);
    expect(intersectScopes(['system/Patient.rs'], registered)).toEqual([]);
  });

  it('answers an authorization request with the grant or the problems', () => {
    const reg = ['user/Patient.rs', 'user/Observation.rs', 'offline_access'];
    expect(grantAppScopes(['user/Patient.rs', 'openid', 'fhirUser', 'offline_access'], reg)).toEqual({
      problems: [],
      granted: ['user/Patient.rs', 'offline_access'],
    });
    expect(grantAppScopes([], reg).problems[0]).toMatch(/scope is required/);
    expect(grantAppScopes(['user/Encounter.rs'], reg).problems[0]).toMatch(/none of the requested scopes/);
    expect(grantAppScopes(['patient/*.rs'], reg).problems[0]).toMatch(/patient launch context/);
    expect(grantAppScopes(['launch/patient', 'user/Patient.rs'], reg).problems[0]).toMatch(/standalone launch/);
    expect(grantAppScopes(['system/*.rs'], reg).problems[0]).toMatch(/integrations/);
    expect(grantAppScopes(['user/Patient.rs?category=x'], reg).problems[0]).toMatch(/parameters/);
    expect(grantAppScopes(['user/Patient.rs', 'offline_access', 'online_access'], reg).problems[0]).toMatch(/not both/);
    expect(grantAppScopes(['user/patient.rs'], reg).problems[0]).toMatch(/not a SMART scope/);
  });

  it('lets a refresh narrow, never widen', () => {
    const granted = ['user/Patient.rs', 'user/Observation.r', 'user/Observation.s', 'offline_access'];
    expect(uncoveredScopes(['user/Patient.r'], granted)).toEqual([]);
    expect(uncoveredScopes(['user/Observation.rs'], granted)).toEqual([]);
    expect(uncoveredScopes(['user/Patient.rs', 'user/Encounter.r', 'user/Patient.c'], granted)).toEqual([
      'user/Encounter.r',
      'user/Patient.c',
    ]);
    expect(uncoveredScopes(['online_access'], granted)).toEqual(['online_access']);
  });

  it('registers apps only for user/ scopes with offline or online access', () => {
    expect(appScopeProblems(['user/Patient.rs', 'offline_access'])).toEqual([]);
    expect(appScopeProblems(['offline_access'])).toEqual(['at least one user/ scope is needed, e.g. user/Patient.rs']);
    expect(appScopeProblems(['user/Patient.rs', 'openid'])[0]).toMatch(/OpenID Connect/);
    expect(appScopeProblems(['system/Patient.rs', 'user/Patient.rs'])[0]).toMatch(/integrations/);
  });
});

describe('redirect URIs', () => {
  it('accepts https, http on loopback and private-use schemes; refuses the rest with the reason', () => {
    expect(redirectUriProblem('https://rounds.hospital.example/callback')).toBeNull();
    expect(redirectUriProblem('http://127.0.0.1:8765/cb')).toBeNull();
    expect(redirectUriProblem('http://[::1]/cb')).toBeNull();
    expect(redirectUriProblem('in.gov.hospital.rounds:/oauth')).toBeNull();
    expect(redirectUriProblem('http://rounds.example/cb')).toMatch(/loopback/);
    expect(redirectUriProblem('https://rounds.example/cb#frag')).toMatch(/fragment/);
    expect(redirectUriProblem('https://*.example/cb')).toMatch(/wildcards/);
    expect(redirectUriProblem('/relative')).toMatch(/not an absolute URI/);
    expect(redirectUriProblem('javascript:alert(1)')).toMatch(/scheme/);
    expect(redirectUriProblem('https://user:pw@rounds.example/cb')).toMatch(/credentials/);
  });

  it('keeps the query a redirect URI has when adding the response', () => {
    expect(withQuery('https://app.example/cb?tenant=a', { code: 'x y', state: 's' })).toBe(
      'https://app.example/cb?tenant=a&code=x+y&state=s',
    );
    expect(withQuery('in.gov.hospital.rounds:/oauth', { code: 'c' })).toBe('in.gov.hospital.rounds:/oauth?code=c');
  });
});
