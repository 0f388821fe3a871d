/**
 * The app's one way to the server: its public HTTP API, same origin, with the session cookie
 * (HttpOnly: the app never sees it) and, on every state-changing request, the CSRF token that
 * each sign-in response and GET /auth/session carry. Errors become ApiErrors (api/outcome.ts).
 *
 * Listeners hear of each answered request (the session timer counts idleness from the last one)
 * and of a 401 from a data path (the session ended: sign in again).
 */
import { ApiError, apiError } from './outcome.js';

let csrfToken = '';

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export type ApiEvent =
  /** The server answered a request of the signed-in session at this time (its clock, from the Date header, and ours). */
  | { readonly kind: 'answered'; readonly at: number; readonly serverDate: number | undefined }
  /** A data request got 401: the session is gone. */
  | { readonly kind: 'signed-out'; readonly message: string };

const listeners = new Set<(e: ApiEvent) => void>();

export function onApiEvent(fn: (e: ApiEvent) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(e: ApiEvent): void {
  for (const fn of listeners) fn(e);
}

export interface ApiResponse<T> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

const SAFE = new Set(['GET', 'HEAD']);

/** Paths where a 401 is an answer about signing in, not the end of a session. */
const SIGN_IN_PATHS = /^\/auth\/(login|password|totp\/|mfa|setup|session)/;

export async function request<T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const json = path.startsWith('/auth/') || path.startsWith('/admin/') ? 'application/json' : 'application/fhir+json';
  const headers: Record<string, string> = { accept: `${json}, application/json;q=0.9` };
  if (body !== undefined) headers['content-type'] = json;
  if (!SAFE.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, [
      { severity: 'error', code: 'transient', diagnostics: 'the server cannot be reached: check the network and try again' },
    ]);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: kept as text for the error message.
  }
  if (!res.ok) {
    if (res.status === 401 && !SIGN_IN_PATHS.test(path)) {
      emit({ kind: 'signed-out', message: 'Your session has ended. Sign in again to continue.' });
    }
    const retry = Number(res.headers.get('retry-after'));
    throw apiError(res.status, parsed, Number.isFinite(retry) && retry > 0 ? retry : undefined);
  }
  const token = (parsed as { csrfToken?: unknown } | undefined)?.csrfToken;
  if (typeof token === 'string') setCsrfToken(token);
  if (!SIGN_IN_PATHS.test(path) || path === '/auth/session') {
    const date = Date.parse(res.headers.get('date') ?? '');
    emit({ kind: 'answered', at: Date.now(), serverDate: Number.isNaN(date) ? undefined : date });
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body);
