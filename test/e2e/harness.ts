/**
 * End-to-end harness: the web app built by Vite into a temporary directory (always from the
 * current sources), a real Sushruta server on PGlite in a temporary data directory serving it,
 * staff accounts made through the identity service as the CLI makes them, and Debian's Chromium
 * driven by playwright-core (never a downloaded browser).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config/config.js';
import type { RequestContext, StaffRole } from '../../src/fhir/context.js';
import { TenantId } from '../../src/fhir/types.js';
import { type RunningServer, startServer } from '../../src/runtime/server.js';

export const CHROMIUM = process.env.SUSHRUTA_CHROMIUM ?? '/usr/bin/chromium';

/** Whether the end-to-end tests can run here; CI (SUSHRUTA_REQUIRE_CHROMIUM=1) fails instead of skipping. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.SUSHRUTA_REQUIRE_CHROMIUM === '1') {
    throw new Error(`Chromium is required (SUSHRUTA_REQUIRE_CHROMIUM=1) but ${CHROMIUM} does not exist: apt-get install chromium`);
  }
  console.warn(`end-to-end tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set SUSHRUTA_CHROMIUM)`);
  return false;
}

const ROOT = resolve(import.meta.dirname, '../..');

/** Builds web/ with the project's Vite config into `outDir`. */
export function buildWebApp(outDir: string): void {
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      'web/vite.config.ts',
      '--outDir',
      outDir,
      '--emptyOutDir',
      '--logLevel',
      'warn',
    ],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
  );
}

export interface E2e {
  readonly server: RunningServer;
  readonly url: string;
  readonly browser: Browser;
  newContext(): Promise<BrowserContext>;
  /** Creates a staff account as the operator would (`sushruta users create`); returns the initial password. */
  createAccount(username: string, displayName: string, roles: StaffRole[], departments?: string[]): Promise<string>;
  /** A fetch from this machine without a session: the local operator, as the CLI is. */
  operator(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startE2e(): Promise<E2e> {
  const dir = mkdtempSync(join(tmpdir(), 'sushruta-e2e-'));
  const webRoot = join(dir, 'web');
  buildWebApp(webRoot);
  const config = loadConfig({
    env: {},
    flags: { port: 0, dataDir: join(dir, 'data'), keyFile: join(dir, 'keys', 'master.kek'), tenant: 'e2e-hospital', uhidPrefix: 'SDH' },
  });
  const server = await startServer(config, { webRoot });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  // Screenshots go to docs/screenshots when asked (npm run screenshots), else to the temporary directory.
  const shots = process.env.SUSHRUTA_SCREENSHOTS ? resolve(ROOT, process.env.SUSHRUTA_SCREENSHOTS) : join(dir, 'screenshots');
  mkdirSync(shots, { recursive: true });
  const ctx: RequestContext = {
    requestId: 'e2e-accounts',
    tenantId: TenantId(config.tenant),
    actor: { kind: 'local-operator', description: 'end-to-end test harness' },
    provenance: { peerAddress: 'local', clientAddress: 'local', forwardedChain: [], userAgent: 'vitest-e2e' },
    baseUrl: `${server.url}/fhir`,
    lenient: false,
  };
  return {
    server,
    url: server.url,
    browser,
    newContext: () =>
      browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'en-IN', timezoneId: 'Asia/Kolkata', deviceScaleFactor: 1 }),
    async createAccount(username, displayName, roles, departments = []) {
      const made = await server.sushruta.identity.createAccount(ctx, { username, displayName, roles, departments });
      return made.initialPassword;
    },
    async operator(method, path, body) {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/fhir+json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async screenshot(page, name) {
      await page.screenshot({ path: join(shots, `${name}.png`) });
    },
    async close() {
      await browser.close().catch(() => undefined);
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
