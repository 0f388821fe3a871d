/**
 * Registering a walk-in patient: the registration desk sends the Patient it has typed (without a
 * UHID); the hospital checks its rules, gives it the next UHID of the year and creates it through
 * the FHIR operation layer as the desk's own user (authorized and audited like any create).
 *
 *   1. shape and rules (ABHA number and address, a guardian for a minor, no future birth date):
 *      400 naming each element, recorded in the audit log as a refused create;
 *   2. may this caller create a Patient at all? If not, the create is sent through the operation
 *      layer anyway, so the refusal is the policy's own, with its rule, and audited; no UHID is
 *      spent on it;
 *   3. FHIR validation of the Patient as it will be stored (with a stand-in UHID);
 *   4. a UHID from the sequence (uhid-sequence.ts), and the create, conditional on no patient
 *      holding that UHID (If-None-Exist), so that even a counter gone wrong cannot give two
 *      patients one UHID unnoticed.
 */
import type { Identifier, Patient } from '@medplum/fhirtypes';
import type { RequestContext } from '../../fhir/context.js';
import { FhirError, issue } from '../../fhir/outcome.js';
import type { FhirService } from '../../fhir/rest/service.js';
import { validateResource } from '../../fhir/validation/index.js';
import { ABHA_ADDRESS_SYSTEM, ABHA_NUMBER_SYSTEM, abhaAddressProblem, abhaNumberProblem, normaliseAbhaNumber } from '../ids/abha.js';
import { formatUhid, UHID_SYSTEM } from '../ids/uhid.js';
import { istToday, registrationProblems } from './rules.js';
import { UhidSequence } from './uhid-sequence.js';

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

export interface RegistrationOptions {
  readonly service: FhirService;
  /** The hospital's UHID prefix (2-6 capital letters), configuration key `uhidPrefix`. */
  readonly uhidPrefix: string;
  /** The assigning hospital's name, shown on the UHID identifier. */
  readonly hospitalName?: string;
  readonly now?: () => Date;
}

export interface Registered {
  readonly patient: Patient & { id: string };
  readonly uhid: string;
  /** The FHIR response headers of the create (ETag, Location, Last-Modified). */
  readonly headers: Record<string, string>;
}

export class PatientRegistration {
  readonly sequence: UhidSequence;
  readonly #service: FhirService;
  readonly #now: () => Date;
  readonly #hospitalName: string | undefined;

  constructor(o: RegistrationOptions) {
    this.#service = o.service;
    this.sequence = new UhidSequence(o.service, o.uhidPrefix);
    this.#now = o.now ?? (() => new Date());
    this.#hospitalName = o.hospitalName;
  }

  async register(ctx: RequestContext, body: unknown): Promise<Registered> {
    // Asked before anything else, as the operation layer does, and before a UHID is spent on a
    // caller who may not create patients; the create itself is decided (and screened) again there.
    const decision = await this.#service.deps.policy.decide(ctx, { interaction: 'create', resourceType: 'Patient' });
    if (!decision.allowed) {
      const err = new FhirError(403, [issue('forbidden', `access denied by rule '${decision.rule}': ${decision.reason}`)]);
      await this.#record(ctx, err, decision.rule);
      throw err;
    }
    const today = istToday(this.#now());
    const year = Number(today.slice(0, 4));
    let draft: Patient;
    try {
      draft = this.#checked(body, today);
      validateResource(this.#withUhid(draft, formatUhid(this.sequence.prefix, year, 1)), 'Patient');
    } catch (err) {
      if (err instanceof FhirError) await this.#record(ctx, err, 'registration-rules');
      throw err;
    }
    return this.sequence.allocate(ctx, year, async (uhid) => {
      const res = await this.#create(ctx, this.#withUhid(draft, uhid), uhid);
      // 200: a patient with this UHID exists after all (If-None-Exist matched); take the next.
      if (res.status !== 201) return undefined;
      return { patient: res.body as Patient & { id: string }, uhid, headers: res.headers };
    });
  }

  #create(ctx: RequestContext, patient: Patient, uhid: string) {
    return this.#service.handle(ctx, {
      method: 'POST',
      path: 'Patient',
      rawQuery: '',
      query: [],
      body: patient,
      contentType: 'application/fhir+json',
      ifNoneExist: `identifier=${encodeURIComponent(`${UHID_SYSTEM}|${uhid}`)}`,
    });
  }

  #withUhid(draft: Patient, uhid: string): Patient {
    return { ...draft, identifier: [this.#uhidIdentifier(uhid), ...(draft.identifier ?? [])] };
  }

  #uhidIdentifier(uhid: string): Identifier {
    return {
      use: 'usual',
      type: { coding: [{ system: V2_0203, code: 'MR', display: 'Medical record number' }], text: 'UHID' },
      system: UHID_SYSTEM,
      value: uhid,
      ...(this.#hospitalName ? { assigner: { display: this.#hospitalName } } : {}),
    };
  }

  /** The Patient as sent, checked against the desk's rules, ABHA numbers in their 'XX-XXXX-XXXX-XXXX' form. */
  #checked(body: unknown, today: string): Patient {
    if (
      typeof body !== 'object' ||
      body === null ||
      Array.isArray(body) ||
      (body as { resourceType?: unknown }).resourceType !== 'Patient'
    ) {
      throw new FhirError(400, [issue('invalid', 'send the Patient to register as a FHIR Patient resource (resourceType "Patient")')]);
    }
    const p = body as Patient;
    const issues = [];
    if (p.id !== undefined) issues.push(issue('invalid', 'a new patient has no id yet: the server assigns it', 'Patient.id'));
    (p.identifier ?? []).forEach((id, i) => {
      if (id.system === UHID_SYSTEM) {
        issues.push(
          issue('invalid', 'the UHID is given by the hospital at registration; send the patient without one', `Patient.identifier[${i}]`),
        );
      }
    });
    for (const problem of registrationProblems(p, {
      today,
      abhaNumberSystem: ABHA_NUMBER_SYSTEM,
      abhaAddressSystem: ABHA_ADDRESS_SYSTEM,
      abhaNumberProblem,
      abhaAddressProblem,
    })) {
      issues.push(issue('business-rule', problem.message, problem.path));
    }
    if (issues.length > 0) throw new FhirError(400, issues);
    const identifier = (p.identifier ?? []).map((id) => {
      if (id.system === ABHA_NUMBER_SYSTEM && id.value) return { ...id, value: normaliseAbhaNumber(id.value) ?? id.value };
      if (id.system === ABHA_ADDRESS_SYSTEM && id.value) return { ...id, value: id.value.trim().toLowerCase() };
      return id;
    });
    return { ...p, ...(identifier.length > 0 ? { identifier } : {}) };
  }

  /**
   * A registration refused before it reached the operation layer is on the record all the same,
   * as the refused create it is (and fails closed if the record cannot be written).
   */
  async #record(ctx: RequestContext, err: FhirError, rule: string): Promise<void> {
    await this.#service.deps.audit.append({
      ctx,
      interaction: 'create',
      resourceType: 'Patient',
      outcome: { status: err.status, rule, error: err },
    });
  }
}
