/**
 * The checks of an authorization request (RFC 6749 section 4.1.1, RFC 7636, SMART App Launch 2.0
 * standalone launch), in the order the RFC's error handling needs:
 *
 * 1. `client_id` and `redirect_uri`: an active app, and one of its registered redirect URIs,
 *    compared exactly. If either fails the user sees an error page and is never redirected
 *    (section 4.1.2.1): an unchecked redirect would make this server an open redirector that
 *    hands codes or phishing pages to whoever wrote the link.
 * 2. Everything else: errors go back to the app's redirect URI as `error`, `error_description`
 *    and `state`: `response_type=code`, `state` (required), PKCE with S256, `aud` (this server's
 *    FHIR base when present), `scope` (granted = requested ∩ registered), no EHR `launch`.
 */
import type { OAuthClient } from './clients.js';
import { OAuthError } from './oauth-error.js';
import { challengeProblem } from './pkce.js';
import { grantAppScopes } from './scopes.js';

/** The parameters an authorization request carries (and the consent form carries again). */
export const AUTHORIZATION_PARAMS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
  'aud',
] as const;

export interface AuthorizationRequest {
  readonly client: OAuthClient;
  readonly redirectUri: string;
  readonly state: string;
  /** The scopes asked for, and those granted (asked ∩ registered). */
  readonly requested: readonly string[];
  readonly scopes: readonly string[];
  readonly codeChallenge: string;
  /** The request's parameters, to carry through the consent form unchanged. */
  readonly params: Readonly<Record<string, string>>;
}

export type AuthorizationCheck =
  /** Client or redirect URI unusable: show the error, never redirect. */
  | { readonly kind: 'invalid'; readonly error: OAuthError; readonly rule: string; readonly clientId: string }
  /** Any other problem: send the error to the app's redirect URI. */
  | {
      readonly kind: 'redirect';
      readonly error: OAuthError;
      readonly rule: string;
      readonly client: OAuthClient;
      readonly redirectUri: string;
      readonly state: string | null;
    }
  | { readonly kind: 'ok'; readonly request: AuthorizationRequest };

const STATE_MAX = 1024;

export async function checkAuthorizationRequest(
  params: URLSearchParams,
  o: { readonly fhirBase: string; readonly app: (clientId: string) => Promise<OAuthClient | undefined> },
): Promise<AuthorizationCheck> {
  const one = (name: string): { value: string | null; repeated: boolean } => {
    const all = params.getAll(name);
    return { value: all[0] ?? null, repeated: all.length > 1 };
  };
  const clientId = one('client_id');
  const invalid = (rule: string, description: string): AuthorizationCheck => ({
    kind: 'invalid',
    rule,
    clientId: clientId.value ?? '',
    error: new OAuthError(400, 'invalid_request', description),
  });
  if (!clientId.value) return invalid('authorize-no-client', 'client_id is required');
  if (clientId.repeated) return invalid('authorize-invalid-request', 'client_id is given more than once');
  const client = await o.app(clientId.value);
  if (!client) {
    return invalid(
      'authorize-unknown-client',
      `client_id '${clientId.value.slice(0, 100)}' is not an active app of this server (unknown, disabled, or an integration without redirect URIs)`,
    );
  }
  const redirect = one('redirect_uri');
  if (!redirect.value) return invalid('authorize-no-redirect-uri', 'redirect_uri is required: one of the URIs registered for this app');
  if (redirect.repeated) return invalid('authorize-invalid-request', 'redirect_uri is given more than once');
  if (!client.redirectUris.includes(redirect.value)) {
    return invalid(
      'authorize-bad-redirect-uri',
      `redirect_uri '${redirect.value.slice(0, 200)}' is not registered for this app (redirect URIs are compared exactly); nothing was sent to it`,
    );
  }
  const redirectUri = redirect.value;
  const state = one('state');
  const fail = (
    rule: string,
    error: 'invalid_request' | 'invalid_scope' | 'unsupported_response_type',
    description: string,
  ): AuthorizationCheck => ({
    kind: 'redirect',
    rule,
    client,
    redirectUri,
    state: state.value && !state.repeated && state.value.length <= STATE_MAX ? state.value : null,
    error: new OAuthError(400, error, description),
  });
  const repeated = AUTHORIZATION_PARAMS.filter((p) => one(p).repeated);
  if (repeated.length > 0) return fail('authorize-invalid-request', 'invalid_request', `given more than once: ${repeated.join(', ')}`);
  const responseType = one('response_type').value;
  if (!responseType) return fail('authorize-invalid-request', 'invalid_request', 'response_type is required and must be code');
  if (responseType !== 'code') {
    return fail(
      'authorize-unsupported-response-type',
      'unsupported_response_type',
      `response_type '${responseType.slice(0, 50)}' is not supported; use code (authorization code with PKCE)`,
    );
  }
  if (!state.value) {
    return fail(
      'authorize-invalid-request',
      'invalid_request',
      'state is required: an unguessable value the app checks when the browser returns (SMART App Launch)',
    );
  }
  if (state.value.length > STATE_MAX) return fail('authorize-invalid-request', 'invalid_request', `state: at most ${STATE_MAX} characters`);
  if (params.has('launch')) {
    return fail(
      'authorize-invalid-request',
      'invalid_request',
      'the launch parameter (EHR launch) is not supported: apps use the standalone launch',
    );
  }
  if (params.has('request') || params.has('request_uri')) {
    return fail('authorize-invalid-request', 'invalid_request', 'request objects (request, request_uri) are not supported');
  }
  const aud = one('aud').value;
  if (aud !== null && aud.replace(/\/+$/, '') !== o.fhirBase.replace(/\/+$/, '')) {
    return fail(
      'authorize-bad-aud',
      'invalid_request',
      `aud '${aud.slice(0, 200)}' is not this server's FHIR base URL (${o.fhirBase}): the app must not send tokens meant for another server here`,
    );
  }
  const pkce = challengeProblem(one('code_challenge').value, one('code_challenge_method').value);
  if (pkce) return fail('authorize-pkce', 'invalid_request', pkce);
  const requested = (one('scope').value ?? '').split(' ').filter(Boolean);
  const { problems, granted } = grantAppScopes(requested, client.scopes);
  if (problems.length > 0) return fail('authorize-invalid-scope', 'invalid_scope', problems.join('; '));
  const carried: Record<string, string> = {};
  for (const p of AUTHORIZATION_PARAMS) {
    const v = one(p).value;
    if (v !== null) carried[p] = v;
  }
  return {
    kind: 'ok',
    request: {
      client,
      redirectUri,
      state: state.value,
      requested,
      scopes: granted,
      codeChallenge: one('code_challenge').value as string,
      params: carried,
    },
  };
}

/** `uri` with these query parameters added (keeping any query it has: RFC 6749 section 3.1.2). */
export function withQuery(uri: string, add: Record<string, string>): string {
  const u = new URL(uri);
  for (const [k, v] of Object.entries(add)) u.searchParams.append(k, v);
  return u.toString();
}
