/**
 * What the policy's tables said about one patient for one account, kept for a few seconds so that
 * a clinician paging through a patient's record costs the database one look-up, not one per
 * request. Bounded in size (oldest first out) and in time: an entry lives `ttlMs`, and never past
 * the end of the grant or break-glass it records.
 *
 * This server forgets what its own writes change at once (a Patient's labels, a care link, a grant
 * or its revocation); what another app server of the same hospital changes is seen within `ttlMs`
 * (docs/SECURITY.md#access-policy). A TTL of 0 turns the cache off.
 */
export interface PatientFacts {
  readonly restricted: boolean;
  readonly cared: boolean;
  readonly granted: boolean;
  readonly brokenGlass: boolean;
}

interface Entry {
  readonly facts: PatientFacts;
  readonly until: number;
}

export class FactCache {
  readonly #entries = new Map<string, Entry>();
  readonly #byPatient = new Map<string, Set<string>>();

  constructor(
    private readonly ttlMs: number,
    private readonly max = 50_000,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  get(user: string, patient: string, now: number): PatientFacts | undefined {
    const key = `${user}\u0000${patient}`;
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.until <= now) {
      this.#delete(key, patient);
      return undefined;
    }
    return e.facts;
  }

  /** `endsAt`: when a grant or break-glass in these facts ends (ms), if earlier than the TTL. */
  set(user: string, patient: string, facts: PatientFacts, now: number, endsAt?: number): void {
    if (!this.enabled) return;
    const key = `${user}\u0000${patient}`;
    this.#entries.delete(key);
    this.#entries.set(key, { facts, until: Math.min(now + this.ttlMs, endsAt ?? Number.POSITIVE_INFINITY) });
    let keys = this.#byPatient.get(patient);
    if (!keys) {
      keys = new Set();
      this.#byPatient.set(patient, keys);
    }
    keys.add(key);
    if (this.#entries.size > this.max) {
      // Maps iterate in insertion order: the first keys are the oldest.
      let drop = Math.ceil(this.max / 10);
      for (const k of this.#entries.keys()) {
        if (drop-- <= 0) break;
        this.#delete(k, k.slice(k.indexOf('\u0000') + 1));
      }
    }
  }

  /** Everything known about these patients, for every account (labels or care links changed). */
  forgetPatients(patients: Iterable<string>): void {
    for (const p of patients) {
      for (const key of this.#byPatient.get(p) ?? []) this.#entries.delete(key);
      this.#byPatient.delete(p);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  #delete(key: string, patient: string): void {
    this.#entries.delete(key);
    const keys = this.#byPatient.get(patient);
    keys?.delete(key);
    if (keys?.size === 0) this.#byPatient.delete(patient);
  }
}
