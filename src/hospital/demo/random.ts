/**
 * A small seeded pseudo-random generator (sfc32, seeded through a 32-bit hash), so that the
 * demo hospital is the same on every machine and every run. Never use Math.random here.
 */

/** Mixes 32-bit integers into one well-distributed 32-bit seed (murmur3 finaliser per step). */
export function mix32(...parts: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    let k = Math.imul(p >>> 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= parts.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), 128-bit state. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seed: readonly number[]) {
    this.a = mix32(...seed, 1);
    this.b = mix32(...seed, 2);
    this.c = mix32(...seed, 3);
    this.d = 1;
    for (let i = 0; i < 15; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A float in [min, max) rounded to `decimals` places. */
  real(min: number, max: number, decimals = 1): number {
    const f = 10 ** decimals;
    return Math.round((min + this.next() * (max - min)) * f) / f;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Picks from [item, weight] pairs. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    const last = items[items.length - 1];
    if (!last) throw new Error('weighted pick from an empty list');
    return last[0];
  }

  /** `n` decimal digits; the first is 1-9 when `leadingNonZero`. */
  digits(n: number, leadingNonZero = false): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(i === 0 && leadingNonZero ? this.int(1, 9) : this.int(0, 9));
    return s;
  }

  /** A version-4-shaped UUID drawn from this generator (deterministic, not secret). */
  uuid(): string {
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    const w = [this.uint32(), this.uint32(), this.uint32(), this.uint32()].map(hex).join('');
    const v = ((parseInt(w[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
    return `${w.slice(0, 8)}-${w.slice(8, 12)}-4${w.slice(13, 16)}-${v}${w.slice(17, 20)}-${w.slice(20, 32)}`;
  }
}

/** `list[i]`, or a clear error naming `what` when `i` is outside the list (a generator bug, never input). */
export function at<T>(list: readonly T[], i: number, what = 'table'): T {
  const v = list[i];
  if (v === undefined) throw new RangeError(`${what}: no entry ${i} in a list of ${list.length}`);
  return v;
}
