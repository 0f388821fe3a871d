/**
 * A browser as the sign-in tests need one: a cookie jar, the CSRF token of the last sign-in
 * step, JSON or form bodies, and redirects left for the test to inspect (not followed).
 */

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
export type Json = any;

export class Browser {
  readonly jar = new Map<string, string>();
  csrf = '';
  lastSetCookies: string[] = [];
  constructor(
    private readonly base: string,
    private readonly extra: Record<string, string> = {},
  ) {}
  /** A request; a URLSearchParams body is sent as a form, anything else as JSON. */
  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Json; res: Response }> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const form = body instanceof URLSearchParams;
    const res = await fetch(`${this.base}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(body !== undefined ? { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' } : {}),
        ...(this.csrf ? { 'x-csrf-token': this.csrf } : {}),
        ...this.extra,
        ...headers,
      },
      ...(body !== undefined ? { body: form ? body.toString() : JSON.stringify(body) } : {}),
    });
    this.lastSetCookies = res.headers.getSetCookie();
    for (const c of this.lastSetCookies) {
      const [pair = ''] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await res.text();
    let parsed: Json = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* text */
    }
    if (parsed && typeof parsed === 'object' && typeof parsed.csrfToken === 'string') this.csrf = parsed.csrfToken;
    return { status: res.status, body: parsed, res };
  }
}
