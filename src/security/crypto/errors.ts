/**
 * Errors of the crypto layer. Messages name the tenant, purpose, version, row or file concerned and
 * the reason, so an operator can act on them; they never contain key material, plaintext or
 * ciphertext.
 */

/** A key-encryption-key file is missing, malformed, of the wrong length, too widely readable, or already exists. */
export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`key file ${path}: ${problem}`);
  }
}

export type KeyUnavailableReason = 'destroyed' | 'unknown' | 'not loaded' | 'no active version' | 'unwrap failed';

/** A data or index key cannot be used: destroyed (crypto-shredded), never created, not in the cache, or not unwrappable. */
export class KeyUnavailableError extends Error {
  override readonly name = 'KeyUnavailableError';
  constructor(
    readonly tenantId: string,
    readonly purpose: string,
    readonly version: number | null,
    readonly reason: KeyUnavailableReason,
    detail?: string,
  ) {
    super(
      `${purpose} key ${version === null ? '' : `version ${version} `}of tenant ${JSON.stringify(tenantId)} is unavailable: ${reason}` +
        (detail ? ` (${detail})` : ''),
    );
  }
}

/** Unwrapping a key under a key-encryption key failed: wrong KEK, or the wrapped key or its context was altered. */
export class KeyUnwrapError extends Error {
  override readonly name = 'KeyUnwrapError';
  constructor(
    readonly kekId: string,
    detail: string,
  ) {
    super(`cannot unwrap key with key-encryption key ${kekId}: ${detail}`);
  }
}

export interface DecryptionContext {
  readonly tenantId: string;
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: string;
}

/** A stored body could not be decrypted. The store must treat this as a hard failure: never show partial or wrong data. */
export class DecryptionError extends Error {
  override readonly name = 'DecryptionError';
  constructor(
    readonly context: DecryptionContext,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `cannot decrypt ${context.resourceType}/${context.id}/_history/${context.versionId} of tenant ${JSON.stringify(context.tenantId)}: ${reason}`,
      options,
    );
  }
}

/** A key backup could not be written or read: wrong passphrase, altered document, malformed document, conflicting keys. */
export class KeyBackupError extends Error {
  override readonly name = 'KeyBackupError';
}
