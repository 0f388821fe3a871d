import type { AuditEntry, AuditSink } from '../../fhir/guard.js';

/**
 * Keeps the most recent entries in memory. It is what the audit stage writes to until the
 * tamper-evident, hash-chained store of the audit issue replaces it; tests use it to prove that
 * every interaction reaches the audit stage before its response.
 */
export class MemoryAuditSink implements AuditSink {
  readonly entries: AuditEntry[] = [];
  constructor(private readonly capacity = 10_000) {}
  async append(entry: AuditEntry): Promise<void> {
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }
}
