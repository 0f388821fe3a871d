/**
 * Per-account secrets sealed with the hospital's data key through the store's body codec:
 * AES-256-GCM with associated data naming tenant, "StaffUser", the account id and the field, so a
 * sealed TOTP secret copied to another account or field does not open. With encryption on (always,
 * but for the benchmark baseline) no TOTP secret or display name rests in plaintext.
 */
import type { BodyCodec } from '../../store/codec.js';
import type { SecretSealer } from './service.js';

export function codecSecretSealer(codec: BodyCodec, tenantId: string): SecretSealer {
  const ctx = (userId: string, field: string) => ({ tenantId, resourceType: 'StaffUser', id: userId, versionId: field });
  return {
    seal: (userId, field, value) => codec.encode(value, ctx(userId, field)),
    open: (userId, field, sealed) => codec.decode(sealed, ctx(userId, field)),
  };
}
