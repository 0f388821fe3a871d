/**
 * Calls the running server's administration API (/admin, src/http/admin.ts) for CLI commands
 * that cannot open a PGlite data directory the server holds. A refusal becomes an error naming
 * the status and the server's diagnostics; the status is passed on for commands whose exit code
 * depends on it (`audit prove`: 409 means the log was tampered with).
 */
import type { Config } from '../config/config.js';
import { lockHolder } from '../runtime/lock.js';

export async function adminCall<T>(
  serverUrl: string,
  method: string,
  path: string,
  body: unknown,
  refused: (message: string, status: number) => Error,
): Promise<T> {
  const res = await fetch(`${serverUrl}/admin${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const msg = parsed?.issue?.map((i: { diagnostics?: string }) => i.diagnostics).join('; ') ?? text;
    throw refused(`the server refused (${res.status}): ${msg}`, res.status);
  }
  return parsed as T;
}

/**
 * Where an administration command runs: through the running server's API when a server holds
 * the PGlite data directory (its lock file names the server's URL), otherwise directly on the
 * database (PostgreSQL, or a PGlite directory no server holds).
 */
export function throughServerOrDirect<T>(
  config: Config,
  remote: (serverUrl: string) => T,
  local: (config: Config) => Promise<T>,
): Promise<T> {
  if (!config.databaseUrl) {
    const holder = lockHolder(config.dataDir);
    if (holder?.url) return Promise.resolve(remote(holder.url));
  }
  return local(config);
}
