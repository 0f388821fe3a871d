/**
 * The audit stage's sink (the `AuditSink` port of the FHIR operation layer) over the chained log:
 * every interaction becomes a record, sealed where it holds personal data, and the request waits
 * until the record is committed. A failure rejects, and the operation layer then refuses the
 * request (fail closed).
 */
import type { AuditEntry, AuditSink } from '../../fhir/guard.js';
import type { BodyCodec } from '../../store/codec.js';
import type { Queryable } from '../../store/db.js';
import { KeyUnavailableError } from '../crypto/errors.js';
import type { AuditLog } from './log.js';
import { type AuditSealer, recordOf, type Sealed } from './record.js';

export class ChainedAuditSink implements AuditSink {
  constructor(
    private readonly log: AuditLog,
    private readonly sealer: AuditSealer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async append(entry: AuditEntry): Promise<void> {
    await this.log.append(recordOf(entry, this.now(), this.sealer));
  }

  async appendWithin(tx: Queryable, entry: AuditEntry): Promise<void> {
    await this.log.appendWithin(tx, recordOf(entry, this.now(), this.sealer));
  }
}

/**
 * Seals audit fields with the tenant's data key through the store's body codec: AES-256-GCM with
 * the associated data binding the ciphertext to tenant, "AuditEvent", the request id and the field,
 * so a sealed query cannot be moved to another record. Crypto-shredding a tenant's keys makes its
 * sealed audit fields unreadable too; ids, times and outcomes stay readable and verifiable.
 */
export function codecSealer(codec: BodyCodec): AuditSealer {
  const ctx = (tenantId: string, requestId: string, field: string) => ({
    tenantId,
    resourceType: 'AuditEvent',
    id: requestId,
    versionId: field,
  });
  return {
    seal: (tenantId, requestId, field, value): Sealed => {
      try {
        return { sealed: Buffer.from(codec.encode(value, ctx(tenantId, requestId, field))).toString('base64') };
      } catch (err) {
        // After crypto-shredding there is no key to seal with; the access is still recorded.
        if (err instanceof KeyUnavailableError && err.reason === 'destroyed') return { withheld: "the hospital's keys are destroyed" };
        throw err;
      }
    },
    open: (tenantId, requestId, field, value) => {
      if ('plain' in value) return value.plain;
      if ('withheld' in value) throw new Error(`this audit record field was not stored: ${value.withheld}`);
      return codec.decode(Buffer.from(value.sealed, 'base64'), ctx(tenantId, requestId, field));
    },
  };
}
