/**
 * Byte-level search for many values at once in what an attacker would carry away: a pg_dump, or
 * every file of a PGlite data directory. One pass over the bytes per haystack (a 3-byte prefilter
 * table, then a map keyed by the first 6 bytes, then a full compare), so 20,000+ needles over
 * tens of megabytes take a second, not hours of Buffer.indexOf.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Values shorter than this (in UTF-8) are not searched: see MIN_BYTES_REASON. */
export const MIN_BYTES = 6;
export const MIN_BYTES_REASON =
  'values shorter than 6 bytes (Ram, Khan, Patel, 6-digit-less codes) occur by chance in any database file ' +
  "('ram' inside 'param', 'khan' in random ciphertext bytes read as text), so a hit would prove nothing";

export interface Needle {
  /** The seeded value, for the report. */
  readonly value: string;
  /** Which encoding these bytes are ('utf8', 'utf8-lower', 'utf16le', 'utf16be', ...). */
  readonly encoding: string;
  readonly bytes: Buffer;
  /**
   * Set for values made only of digits (postal codes, phone numbers, ABHA numbers): the code unit
   * before and after a hit must not be a letter or digit. Six digits turn up by chance inside the
   * hex hashes the audit log keeps in plain (one in ~17 million windows per value, over thousands
   * of hash windows and hundreds of postal codes), and a value leaked as itself is delimited
   * (`"560066"`, `Bengaluru 560066`). Its encoding's code unit: 1 byte, or 2 (UTF-16 LE/BE).
   */
  readonly standalone?: 'utf8' | 'utf16le' | 'utf16be';
}

export function utf16be(s: string): Buffer {
  const le = Buffer.from(s, 'utf16le');
  const be = Buffer.allocUnsafe(le.length);
  for (let i = 0; i + 1 < le.length; i += 2) {
    be[i] = le[i + 1] as number;
    be[i + 1] = le[i] as number;
  }
  return be;
}

/** The encodings of one value the scan looks for. */
export function encodingsOf(value: string): Needle[] {
  const lower = value.toLowerCase();
  const digits = /^\d+$/.test(value);
  const out: Needle[] = [
    { value, encoding: 'utf8', bytes: Buffer.from(value, 'utf8'), ...(digits ? { standalone: 'utf8' as const } : {}) },
    { value, encoding: 'utf16le', bytes: Buffer.from(value, 'utf16le'), ...(digits ? { standalone: 'utf16le' as const } : {}) },
    { value, encoding: 'utf16be', bytes: utf16be(value), ...(digits ? { standalone: 'utf16be' as const } : {}) },
  ];
  if (lower !== value) {
    out.push({ value, encoding: 'utf8-lower', bytes: Buffer.from(lower, 'utf8') });
    out.push({ value, encoding: 'utf16le-lower', bytes: Buffer.from(lower, 'utf16le') });
  }
  return out;
}

const key6 = (b: Uint8Array, i: number): number =>
  (b[i] as number) * 2 ** 40 +
  (b[i + 1] as number) * 2 ** 32 +
  (b[i + 2] as number) * 2 ** 24 +
  (b[i + 3] as number) * 2 ** 16 +
  (b[i + 4] as number) * 2 ** 8 +
  (b[i + 5] as number);

const isAlnum = (c: number | undefined): boolean =>
  c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a));

/** Whether the code unit just before or just after hay[at, at+len) is an ASCII letter or digit. */
function touchesAlnum(hay: Uint8Array, at: number, len: number, unit: 'utf8' | 'utf16le' | 'utf16be'): boolean {
  if (unit === 'utf8') return isAlnum(hay[at - 1]) || isAlnum(hay[at + len]);
  const before = unit === 'utf16le' ? (hay[at - 1] === 0 ? hay[at - 2] : undefined) : hay[at - 2] === 0 ? hay[at - 1] : undefined;
  const after =
    unit === 'utf16le' ? (hay[at + len + 1] === 0 ? hay[at + len] : undefined) : hay[at + len] === 0 ? hay[at + len + 1] : undefined;
  return isAlnum(before) || isAlnum(after);
}

export class Matcher {
  /** Hits of standalone needles skipped because they sat inside a longer run of letters and digits. */
  embedded = 0;
  readonly #pre = new Uint8Array(1 << 24);
  readonly #byKey = new Map<number, Needle[]>();
  readonly size: number;

  constructor(needles: readonly Needle[]) {
    let n = 0;
    for (const nd of needles) {
      if (nd.bytes.length < MIN_BYTES) continue;
      n += 1;
      const b = nd.bytes;
      this.#pre[((b[0] as number) << 16) | ((b[1] as number) << 8) | (b[2] as number)] = 1;
      const k = key6(b, 0);
      const list = this.#byKey.get(k);
      if (list) list.push(nd);
      else this.#byKey.set(k, [nd]);
    }
    this.size = n;
  }

  /** Every needle found in `hay`, with the first offset. */
  find(hay: Uint8Array): Map<Needle, number> {
    const found = new Map<Needle, number>();
    const pre = this.#pre;
    const end = hay.length - MIN_BYTES;
    for (let i = 0; i <= end; i++) {
      if (pre[((hay[i] as number) << 16) | ((hay[i + 1] as number) << 8) | (hay[i + 2] as number)] === 0) continue;
      const list = this.#byKey.get(key6(hay, i));
      if (!list) continue;
      for (const nd of list) {
        if (found.has(nd)) continue;
        const b = nd.bytes;
        if (i + b.length > hay.length) continue;
        let ok = true;
        for (let j = MIN_BYTES; j < b.length; j++) {
          if (hay[i + j] !== b[j]) {
            ok = false;
            break;
          }
        }
        if (!ok) continue;
        if (nd.standalone && touchesAlnum(hay, i, b.length, nd.standalone)) {
          this.embedded += 1;
          continue;
        }
        found.set(nd, i);
      }
    }
    return found;
  }
}

/** Every regular file under `dir`, recursively, with its raw bytes. */
export function readTree(dir: string): { path: string; bytes: Buffer }[] {
  const out: { path: string; bytes: Buffer }[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push({ path: p, bytes: readFileSync(p) });
    }
  };
  walk(dir);
  return out;
}

/**
 * A plain-format pg_dump with every binary value replaced by the bytes it stands for, as an attacker
 * would decode them: bytea literals (`\\x<hex>` in COPY data), bigint arrays (`{n,n,...}`: the
 * 64-bit blind-index terms of search_blind, each written as up to 20 decimal characters), the
 * single term that ends each COPY line of search_blind_short, and UUIDs (resource and request ids).
 * Left as text, hex and decimal digits would match short digit values (postal codes, phone numbers)
 * by chance.
 */
export function decodeDumpBytea(dump: Buffer): { bytes: Buffer; byteaValues: number; termValues: number } {
  const hex = replaceAll(dump, /\\\\x([0-9a-f]+)/g, (m) => Buffer.from(m[1] as string, 'hex'));
  const terms = replaceAll(hex.bytes, /\{(-?\d{1,19}(?:,-?\d{1,19})*)\}/g, (m) => {
    const list = (m[1] as string).split(',');
    const out = Buffer.alloc(8 * list.length);
    for (let i = 0; i < list.length; i++) out.writeBigInt64BE(BigInt(list[i] as string), 8 * i);
    return out;
  });
  // Only inside the COPY block of search_blind_short, whose last column is the term: a trailing
  // number elsewhere could be a leak, and must stay visible to the scan.
  let shortTerms = 0;
  const short = replaceAll(terms.bytes, /(COPY [\w.]*search_blind_short \([^)]*\) FROM stdin;\n)([\s\S]*?\n)(\\\.\n)/g, (m) => {
    const rows = (m[2] as string).replace(/\t(-?\d{1,19})\n/g, (_all, n: string) => {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(BigInt(n));
      shortTerms += 1;
      return `\t${b.toString('latin1')}\n`;
    });
    return Buffer.from(`${m[1]}${rows}${m[3]}`, 'latin1');
  });
  return { bytes: decodeUuids(short.bytes), byteaValues: hex.count, termValues: terms.count + shortTerms };
}

/**
 * Bytes with the random values an attacker would read as binary decoded to it: textual UUIDs
 * (resource and request ids; the audit log lists the id of every resource a request touched),
 * 64-digit hex SHA-256 hashes and base64 ciphertexts of audit entries. As text their hex and
 * base64 digits would match short digit values (postal codes) by chance; none of them is a value
 * about anyone.
 */
export function decodeUuids(buf: Buffer): Buffer {
  const ids = replaceAll(buf, /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (m) =>
    Buffer.from(m[0].replace(/-/g, ''), 'hex'),
  ).bytes;
  // Audit entries also carry SHA-256 hashes in hex (`prev`) and ciphertexts in base64 (`sealed`).
  const hashes = replaceAll(ids, /(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/g, (m) => Buffer.from(m[0], 'hex')).bytes;
  return replaceAll(hashes, /"sealed":"([A-Za-z0-9+/]+=*)"/g, (m) => Buffer.from(m[1] as string, 'base64')).bytes;
}

function replaceAll(buf: Buffer, re: RegExp, decode: (m: RegExpExecArray) => Buffer): { bytes: Buffer; count: number } {
  const text = buf.toString('latin1');
  const parts: Buffer[] = [];
  let last = 0;
  let n = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    parts.push(buf.subarray(last, m.index));
    parts.push(decode(m));
    last = m.index + m[0].length;
    n += 1;
  }
  parts.push(buf.subarray(last));
  return { bytes: Buffer.concat(parts), count: n };
}
