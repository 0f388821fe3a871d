import type { Db } from '../../store/db.js';
import type { ResourceStore } from '../../store/resources.js';
import type { AuditReader } from '../audit-reader.js';
import type { AccessPolicy, AuditSink, BreakGlass, WriteObserver } from '../guard.js';

export interface Limits {
  readonly bundleEntries: number;
  readonly defaultCount: number;
  readonly maxCount: number;
  readonly queryTimeoutMs: number;
}

/** Everything the operation layer needs, wired once by the composition root. */
export interface FhirDeps {
  readonly db: Db;
  readonly store: ResourceStore;
  readonly policy: AccessPolicy;
  readonly audit: AuditSink;
  /** The audit log's read side (AuditEvent, the access report); absent with an in-memory test sink. */
  readonly auditReader?: AuditReader;
  readonly limits: Limits;
  /** Told about committed writes, to keep planner statistics fresh (store/statistics.ts). */
  readonly statistics?: { noteWrites(n: number): void };
  /** Told of every stored version inside its write transaction (the access policy's projections). */
  readonly observers?: readonly WriteObserver[];
  /** Break-glass grants, for `Patient/[id]/$break-glass`; absent, the operation is not offered. */
  readonly breakGlass?: BreakGlass;
}
