/**
 * Envelope encryption of resource bodies: the BodyCodec the store uses so that no resource body rests
 * in plaintext (DESIGN.md invariant 2).
 *
 * Ciphertext format, version 1 (all integers big-endian):
 *
 *     offset  size  field
 *     0       1     magic 0x53 ('S')
 *     1       1     format 0x01
 *     2       4     data key version (uint32)
 *     6       12    nonce (random per encryption)
 *     18      n     AES-256-GCM ciphertext of the UTF-8 JSON body
 *     18+n    16    GCM tag
 *
 * Associated data = the 6 header bytes followed by the UTF-8 bytes of
 * `sushruta:body:v1\0${tenantId}\0${resourceType}\0${id}\0${versionId}`, so a ciphertext copied to
 * another row, tenant, type, id or version (or with an edited header) fails authentication. A stored
 * plain JSON body starts with '{' (0x7B), never 0x53, so `isEncryptedBody` tells the two apart during
 * a migration from plain storage.
 *
 * The data key is used directly with random 96-bit nonces: stay well under 2^32 encryptions per key
 * version (NIST SP 800-38D); rotate the data key at least yearly (a busy hospital writes ~10^8
 * versions a year).
 *
 * The codec is synchronous (the store's interface); it reads keys from the KeyRing's cache, so the
 * tenant's keys must have been loaded with `KeyRing.preload(tenantId)`. It never returns wrong data:
 * anything that does not authenticate throws DecryptionError.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import type { BodyCodec, BodyContext } from '../../store/codec.js';
import { DecryptionError, KeyUnavailableError } from './errors.js';
import type { KeyRing } from './keyring.js';

const MAGIC = 0x53;
const FORMAT_V1 = 0x01;
const HEADER = 6;
const NONCE = 12;
const TAG = 16;

function aad(header: Uint8Array, ctx: BodyContext): Buffer {
  const s = `sushruta:body:v1\u0000${ctx.tenantId}\u0000${ctx.resourceType}\u0000${ctx.id}\u0000${ctx.versionId}`;
  const out = Buffer.allocUnsafe(HEADER + Buffer.byteLength(s, 'utf8'));
  out.set(header, 0);
  out.write(s, HEADER, 'utf8');
  return out;
}

/** True if the bytes carry the encrypted-body magic byte (a plain JSON body starts with '{'). */
export function isEncryptedBody(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === MAGIC;
}

/** The data key version a stored body was encrypted under (for re-encryption after a rotation). */
export function keyVersionOf(bytes: Uint8Array): number {
  if (bytes.length < HEADER + NONCE + TAG || bytes[0] !== MAGIC || bytes[1] !== FORMAT_V1) {
    throw new RangeError('not a version-1 Sushruta encrypted body');
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32BE(2);
}

export function encryptedCodec(ring: KeyRing): BodyCodec {
  return {
    keyVersion: keyVersionOf,

    encode(json: string, ctx: BodyContext): Uint8Array {
      const { version, key } = ring.activeCached(ctx.tenantId, 'data');
      const plain = Buffer.from(json, 'utf8');
      const out = Buffer.allocUnsafe(HEADER + NONCE + plain.length + TAG);
      out[0] = MAGIC;
      out[1] = FORMAT_V1;
      out.writeUInt32BE(version, 2);
      randomFillSync(out, HEADER, NONCE);
      const cipher = createCipheriv('aes-256-gcm', key, out.subarray(HEADER, HEADER + NONCE));
      cipher.setAAD(aad(out.subarray(0, HEADER), ctx));
      let off = HEADER + NONCE;
      off += cipher.update(plain).copy(out, off);
      off += cipher.final().copy(out, off);
      cipher.getAuthTag().copy(out, off);
      plain.fill(0);
      return out;
    },

    decode(bytes: Uint8Array, ctx: BodyContext): string {
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (buf.length < HEADER + NONCE + TAG)
        throw new DecryptionError(ctx, 'too short to be an encrypted body (truncated or not encrypted)');
      if (buf[0] !== MAGIC || buf[1] !== FORMAT_V1) {
        throw new DecryptionError(
          ctx,
          buf[0] === 0x7b ? 'stored in plaintext, not encrypted' : `unknown format bytes 0x${buf.subarray(0, 2).toString('hex')}`,
        );
      }
      const version = buf.readUInt32BE(2);
      let key: Buffer;
      try {
        key = ring.cached(ctx.tenantId, 'data', version);
      } catch (err) {
        if (err instanceof KeyUnavailableError) {
          const why = err.reason === 'destroyed' ? `key version ${version} destroyed` : `key version ${version} ${err.reason}`;
          throw new DecryptionError(ctx, why, { cause: err });
        }
        throw err;
      }
      const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(HEADER, HEADER + NONCE));
      decipher.setAAD(aad(buf.subarray(0, HEADER), ctx));
      decipher.setAuthTag(buf.subarray(buf.length - TAG));
      const body = decipher.update(buf.subarray(HEADER + NONCE, buf.length - TAG));
      try {
        decipher.final();
      } catch {
        body.fill(0);
        throw new DecryptionError(ctx, 'tampered or moved (authentication failed)');
      }
      const json = body.toString('utf8');
      body.fill(0);
      return json;
    },
  };
}
