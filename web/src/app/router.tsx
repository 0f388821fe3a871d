/**
 * A small router over the History API: the app's screens are a handful of paths, and the server
 * answers each of them with index.html (src/http/web.ts), so a reload or a pasted link works.
 */
import { type AnchorHTMLAttributes, type MouseEvent, useSyncExternalStore } from 'react';

const listeners = new Set<() => void>();

function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  window.addEventListener('popstate', fn);
  return () => {
    listeners.delete(fn);
    window.removeEventListener('popstate', fn);
  };
}

export function navigate(to: string, opts: { replace?: boolean; state?: unknown } = {}): void {
  if (opts.replace) window.history.replaceState(opts.state ?? null, '', to);
  else window.history.pushState(opts.state ?? null, '', to);
  for (const fn of listeners) fn();
  window.scrollTo(0, 0);
}

/** The current path (without query or hash). */
export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

/** The state navigate() stored with the current entry (e.g. a search to prefill a form with). */
export function routeState<T>(): T | undefined {
  return (window.history.state ?? undefined) as T | undefined;
}

/** Matches `/patients/:id/conditions` against a path; the named parts, or undefined. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/');
  const s = path.replace(/\/+$/, '').split('/');
  if (p.length !== s.length) return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const want = p[i] as string;
    const got = s[i] as string;
    if (want.startsWith(':')) {
      if (got === '') return undefined;
      out[want.slice(1)] = decodeURIComponent(got);
    } else if (want !== got) {
      return undefined;
    }
  }
  return out;
}

/** A link that navigates within the app (a new tab or window still gets a real link). */
export function Link({ to, children, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}
