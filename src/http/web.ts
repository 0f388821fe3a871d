/**
 * The web app (web/, built by Vite into dist/web) served at `/`: its files, and index.html for
 * every other GET that asks for a page and is not an API path, so that the app's own routes
 * (/register, /patients/…) survive a reload. The API paths (/fhir, /auth, /admin, /oauth2,
 * /hospital, /healthz, /.well-known) are never answered with the app.
 *
 * Pages get a strict Content-Security-Policy: scripts, styles, images and connections from this
 * origin only, no inline script or style, no framing. The app talks to the server only through
 * the same public HTTP API as any other client (fetch, the session cookie, the CSRF header).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Paths that belong to the API: never the web app, whatever the browser asks for. */
const API_PATH = /^\/(?:fhir|auth|admin|oauth2|hospital|healthz|\.well-known)(?:[/?#]|$)/;

export function isApiPath(path: string): boolean {
  return API_PATH.test(path);
}

export const WEB_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Where `npm run build` puts the web app: dist/web of the package (the same from src/ and dist/). */
export function defaultWebRoot(): string {
  return fileURLToPath(new URL('../../dist/web/', import.meta.url));
}

export function webAppBuilt(root: string): boolean {
  return existsSync(join(root, 'index.html'));
}

export interface WebApp {
  /** Answers a GET for a page of the app's own routes with index.html; undefined when it is not one. */
  clientRoute(req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined;
}

/** Serves the built app from `root`; undefined (and nothing registered) when it is not built there. */
export async function registerWebApp(app: FastifyInstance, root: string): Promise<WebApp | undefined> {
  if (!webAppBuilt(root)) return undefined;
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: true,
    index: ['index.html'],
    dotfiles: 'deny',
    // Caching is decided below, by path.
    cacheControl: false,
  });
  app.addHook('onSend', async (req, reply, payload) => {
    const path = req.url.split('?')[0] ?? '/';
    if (isApiPath(path)) return payload;
    reply.header('Content-Security-Policy', WEB_CSP);
    // Vite names the files under /assets by their content hash: they never change.
    const immutable = path.startsWith('/assets/') && reply.statusCode === 200;
    reply.header('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    return payload;
  });
  return {
    clientRoute(req, reply) {
      const path = req.url.split('?')[0] ?? '/';
      if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
      if (isApiPath(path)) return undefined;
      // A missing file (/assets/x.js, /favicon.ico) stays a 404; a route of the app has no extension.
      if (/\.[A-Za-z0-9]{1,8}$/.test(path)) return undefined;
      if (!String(req.headers.accept ?? '').includes('text/html')) return undefined;
      return reply.code(200).sendFile('index.html');
    },
  };
}
