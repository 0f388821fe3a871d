/** The sign-in API (/auth, src/http/auth.ts) as the app uses it. */
import { ApiError } from '../api/outcome.js';
import { get, post } from '../api/http.js';

export type Stage = 'password' | 'enrol' | 'mfa' | 'active';

export interface Account {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly roles: readonly string[];
  readonly departments: readonly string[];
  readonly status: string;
  readonly passwordMustChange: boolean;
  readonly totpEnrolled: boolean;
  readonly recoveryCodesLeft: number;
  readonly webauthnCredentials: number;
  readonly createdAt: string;
  readonly createdBy: string;
}

export interface SessionInfo {
  readonly session: string;
  readonly stage: Stage;
  /** The absolute end of the session (ISO instant, the server's clock). */
  readonly expiresAt: string;
  readonly csrfToken: string;
  /** How long without a request ends the session; absent from servers that do not say. */
  readonly idleTimeoutSeconds?: number;
  readonly account: Account;
}

/** The session this browser holds, or null when it holds none. */
export async function currentSession(): Promise<SessionInfo | null> {
  try {
    return (await get<SessionInfo>('/auth/session')).body;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

export const signIn = async (username: string, password: string) => (await post<SessionInfo>('/auth/login', { username, password })).body;

export const choosePassword = async (newPassword: string) => (await post<SessionInfo>('/auth/password', { newPassword })).body;

export const beginTotp = async () => (await post<{ secret: string; uri: string }>('/auth/totp/begin')).body;

export const confirmTotp = async (code: string) =>
  (await post<SessionInfo & { recoveryCodes: string[] }>('/auth/totp/confirm', { code })).body;

export const verifyCode = async (code: string) => (await post<SessionInfo>('/auth/mfa', { code })).body;

export const verifyRecoveryCode = async (recoveryCode: string) => (await post<SessionInfo>('/auth/mfa', { recoveryCode })).body;

export const signOut = async () => {
  await post('/auth/logout');
};
