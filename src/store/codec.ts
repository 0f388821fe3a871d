/**
 * How a resource body becomes bytes at rest. The store never sees anything but a codec's output;
 * encryption at rest (the next slice) is a codec that binds the ciphertext to tenant, type, id and
 * version through its associated data.
 */
export interface BodyContext {
  readonly tenantId: string;
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: string;
}

export interface BodyCodec {
  encode(json: string, ctx: BodyContext): Uint8Array;
  decode(bytes: Uint8Array, ctx: BodyContext): string;
  /** The data-key version that produced these bytes (0: plaintext), recorded beside the row so
   * re-encryption after a key rotation can find what is left to do with an index scan. */
  keyVersion(bytes: Uint8Array): number;
}

/** Plain UTF-8 JSON: for tests of the store itself and the encryption-off benchmark baseline. */
export const plainCodec: BodyCodec = {
  encode: (json) => Buffer.from(json, 'utf8'),
  decode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  keyVersion: () => 0,
};
