/**
 * Calls the running server's administration API (/admin, src/http/admin.ts) for CLI commands
 * that cannot open a PGlite data directory the server holds. A refusal becomes an error naming
 * the status and the server's diagnostics; the status is passed on for commands whose exit code
 * depends on it (`audit prove`: 409 means the log was tampered with).
 */
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
