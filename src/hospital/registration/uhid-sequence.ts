/**
 * UHID sequence numbers, allocated without duplicates by any number of app servers at once,
 * through the FHIR operation layer (this module never touches the store).
 *
 * One counter per hospital prefix and registration year: the FHIR resource
 * `Basic/uhid-sequence-<prefix>-<year>`. Every allocation writes a new version of it with an
 * (empty) JSON Patch; the update takes the counter's row lock, so versions are handed out one by
 * one, and the number allocated is
 *
 *     sequence = base + versionId
 *
 * where `base` is stored in the counter when it is created: the highest sequence already taken
 * that year (found by searching for UHIDs, see `firstFree`), so a counter created after imported
 * or demo patients continues after them. Two servers creating the counter at once: one insert wins
 * and the other gets 409 and retries as an ordinary allocation; a creation that lands on a counter
 * another server has just created becomes its next version (with a base at least as high, the
 * UHIDs it counted having only grown), so numbers still never repeat.
 *
 * A number is used only if no patient already holds that UHID (searched as the system, so
 * restricted patients count too); otherwise the next one is taken. Numbers of registrations that
 * fail after allocation are not reused: UHIDs are unique and increasing, with occasional gaps.
 *
 * The counter is written as the system (`system:registration`): it holds no patient data, and the
 * desk's roles may not write `Basic`. Each allocation is an audited PATCH by that actor, under the
 * request id of the registration it served.
 */
import type { Basic, Extension } from '@medplum/fhirtypes';
import type { RequestContext } from '../../fhir/context.js';
import { FhirError, issue } from '../../fhir/outcome.js';
import type { FhirService } from '../../fhir/rest/service.js';
import { formatUhid, UHID_SYSTEM } from '../ids/uhid.js';

export const SEQUENCE_CODE_SYSTEM = 'https://sushruta.example.in/fhir/CodeSystem/hospital-bookkeeping';
export const SEQUENCE_BASE_EXTENSION = 'https://sushruta.example.in/fhir/StructureDefinition/uhid-sequence-base';

/** The system actor the counter is written and UHIDs are searched as. */
export const REGISTRATION_JOB = 'registration';

/** How many numbers in a row may turn out taken before allocation gives up. */
const MAX_TAKEN_IN_A_ROW = 200;
/** How many concurrent creations of the counter one allocation waits out. */
const MAX_CONFLICTS = 10;

export function counterId(prefix: string, year: number): string {
  return `uhid-sequence-${prefix.toLowerCase()}-${year}`;
}

export function systemContext(ctx: RequestContext): RequestContext {
  return { ...ctx, actor: { kind: 'system', job: REGISTRATION_JOB } };
}

function statusOf(err: unknown): number | undefined {
  return err instanceof FhirError ? err.status : undefined;
}

export class UhidSequence {
  constructor(
    private readonly service: FhirService,
    readonly prefix: string,
  ) {
    // formatUhid checks the prefix too; failing here names the configuration key.
    if (!/^[A-Z]{2,6}$/.test(prefix)) throw new Error(`uhidPrefix must be 2-6 capital letters, got '${prefix}'`);
  }

  /** Whether a patient (any patient, restricted ones too) holds this UHID. */
  async taken(ctx: RequestContext, uhid: string): Promise<boolean> {
    const res = await this.service.handle(systemContext(ctx), {
      method: 'GET',
      path: 'Patient',
      rawQuery: `identifier=${encodeURIComponent(`${UHID_SYSTEM}|${uhid}`)}&_elements=id&_count=1`,
      query: [
        ['identifier', `${UHID_SYSTEM}|${uhid}`],
        ['_elements', 'id'],
        ['_count', '1'],
      ],
    });
    const bundle = res.body as { entry?: unknown[] } | undefined;
    return (bundle?.entry?.length ?? 0) > 0;
  }

  /**
   * The lowest sequence not yet taken in `year`, assuming numbers are taken from 1 upwards:
   * doubling until a free one, then bisecting (about 2·log2(n) exact searches).
   */
  async firstFree(ctx: RequestContext, year: number): Promise<number> {
    const taken = (n: number) => this.taken(ctx, formatUhid(this.prefix, year, n));
    if (!(await taken(1))) return 1;
    let lo = 1;
    let hi = 2;
    while (await taken(hi)) {
      lo = hi;
      hi *= 2;
    }
    // lo is taken, hi is free.
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await taken(mid)) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  /** The next sequence number of `year` from the counter (creating the counter if needed). */
  async #nextNumber(ctx: RequestContext, year: number): Promise<number> {
    const sys = systemContext(ctx);
    const id = counterId(this.prefix, year);
    for (let conflicts = 0; ; conflicts++) {
      try {
        const res = await this.service.handle(sys, {
          method: 'PATCH',
          path: `Basic/${id}`,
          rawQuery: '',
          query: [],
          contentType: 'application/json-patch+json',
          body: [],
        });
        return sequenceOf(res.body as Basic, res.headers.ETag);
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
      const base = (await this.firstFree(ctx, year)) - 1;
      try {
        const res = await this.service.handle(sys, {
          method: 'PUT',
          path: `Basic/${id}`,
          rawQuery: '',
          query: [],
          body: counterResource(id, this.prefix, year, base),
        });
        return sequenceOf(res.body as Basic, res.headers.ETag);
      } catch (err) {
        // Another server created the counter at the same moment: allocate from theirs.
        if (statusOf(err) !== 409 || conflicts >= MAX_CONFLICTS) throw err;
      }
    }
  }

  /**
   * Allocates a UHID of `year` that no patient holds, and passes it to `use`, which creates the
   * patient and returns undefined if the UHID turned out taken after all (it then gets the next).
   */
  async allocate<T>(ctx: RequestContext, year: number, use: (uhid: string) => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < MAX_TAKEN_IN_A_ROW; i++) {
      const uhid = formatUhid(this.prefix, year, await this.#nextNumber(ctx, year));
      if (await this.taken(ctx, uhid)) continue;
      const out = await use(uhid);
      if (out !== undefined) return out;
    }
    throw new FhirError(503, [
      issue(
        'transient',
        `no free UHID after ${MAX_TAKEN_IN_A_ROW} numbers: patients imported with UHIDs of ${year} are ahead of the counter Basic/${counterId(this.prefix, year)}; raise its uhid-sequence-base extension past them`,
      ),
    ]);
  }
}

function counterResource(id: string, prefix: string, year: number, base: number): Basic {
  return {
    resourceType: 'Basic',
    id,
    code: {
      coding: [{ system: SEQUENCE_CODE_SYSTEM, code: 'uhid-sequence', display: 'UHID sequence counter' }],
      text: `UHID sequence of ${prefix}-${year}: the sequence allocated is this base plus the version id`,
    },
    extension: [{ url: SEQUENCE_BASE_EXTENSION, valueInteger: base }],
  };
}

/** base + versionId of the counter version an allocation wrote. */
function sequenceOf(counter: Basic | undefined, etagHeader: string | undefined): number {
  const base = counter?.extension?.find((e: Extension) => e.url === SEQUENCE_BASE_EXTENSION)?.valueInteger;
  const version = Number(/^W\/"(\d+)"$/.exec(etagHeader ?? '')?.[1] ?? counter?.meta?.versionId);
  if (!Number.isSafeInteger(base) || base === undefined || base < 0 || !Number.isSafeInteger(version) || version < 1) {
    throw new Error(`the UHID sequence counter ${counter?.id ?? '(unknown)'} is malformed (base ${base}, version ${version})`);
  }
  return base + version;
}
