/** An opened Sushruta (real key ring, encrypted codec) on a test database, with a clock the test moves. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import type { RequestContext } from '../../src/fhir/context.js';
import { TenantId } from '../../src/fhir/types.js';
import { type OpenOptions, type Sushruta, openSushruta } from '../../src/runtime/open.js';
import { MemoryAuditSink } from '../../src/security/audit/memory-sink.js';
import type { TestDbKind } from '../support/db.js';

export const TENANT = 'identity-hospital';

export interface IdentityHarness {
  readonly s: Sushruta;
  readonly audit: MemoryAuditSink;
  readonly clock: { now: number; advance(ms: number): void };
  ctx(address?: string): RequestContext;
  close(): Promise<void>;
}

export async function openIdentity(kind: TestDbKind, identity: OpenOptions['identity'] = {}): Promise<IdentityHarness> {
  const keyDir = mkdtempSync(join(tmpdir(), 'sushruta-identity-'));
  const config = loadConfig({ env: {}, flags: { port: 0, tenant: TENANT, keyFile: join(keyDir, 'master.kek') } });
  const audit = new MemoryAuditSink();
  const clock = {
    now: Date.parse('2026-03-02T09:00:00Z'),
    advance(ms: number) {
      clock.now += ms;
    },
  };
  const s = await openSushruta(config, { db: await kind.open(), audit, identity: { now: () => new Date(clock.now), ...identity } });
  let n = 0;
  return {
    s,
    audit,
    clock,
    ctx: (address = '203.0.113.7') => ({
      requestId: `req-${++n}-identity-test`,
      tenantId: TenantId(TENANT),
      actor: { kind: 'anonymous' },
      provenance: { peerAddress: address, clientAddress: address, forwardedChain: [], userAgent: 'vitest' },
      baseUrl: 'http://127.0.0.1/fhir',
      lenient: false,
    }),
    close: async () => {
      await s.close();
      rmSync(keyDir, { recursive: true, force: true });
    },
  };
}

export const OPERATOR: RequestContext['actor'] = { kind: 'local-operator', description: 'test operator' };
