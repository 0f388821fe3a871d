/**
 * Care relationships, read from the resources that record them: who (a department, a
 * practitioner or one of their roles) is looking after which patient, and over what period.
 *
 *   Encounter        subject; serviceProvider (department); participant.individual; period
 *   Appointment      Patient participants; Practitioner / PractitionerRole participants; start..end
 *   EpisodeOfCare    patient; managingOrganization; careManager; period
 *   CareTeam         subject; managingOrganization; Practitioner / PractitionerRole / Organization participants; period
 *   ServiceRequest   subject; performer and requester (department or practitioner); authoredOn (a laboratory order)
 *
 * The access policy keeps these as rows (projection.ts) and asks whether a link is live: it ends
 * `careWindowDays` after the period ends (or after it starts, when it has no end and is over).
 * A cancelled or entered-in-error record is no relationship.
 */
import type { AnyResource } from '../../fhir/types.js';

export const LINK_SOURCES = ['Encounter', 'Appointment', 'EpisodeOfCare', 'CareTeam', 'ServiceRequest'] as const;

export interface CareLink {
  readonly patientId: string;
  /** An Organization id (a department), or null. */
  readonly department: string | null;
  /** A Practitioner or PractitionerRole as `Type/id`, or null. */
  readonly practitioner: string | null;
  readonly startsAt: Date | null;
  /** Null while the relationship is open (an encounter in progress, an active episode). */
  readonly endsAt: Date | null;
}

interface Ref {
  reference?: string;
}

const idIn = (ref: Ref | undefined, type: string): string | null => {
  const m = ref?.reference?.match(/^(?:.*\/)?([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/.*)?$/);
  return m && m[1] === type ? (m[2] as string) : null;
};
const staffRef = (ref: Ref | undefined): string | null => {
  const p = idIn(ref, 'Practitioner');
  if (p) return `Practitioner/${p}`;
  const r = idIn(ref, 'PractitionerRole');
  return r ? `PractitionerRole/${r}` : null;
};
const date = (v: unknown): Date | null => {
  if (typeof v !== 'string') return null;
  const d = new Date(v.length === 10 ? `${v}T00:00:00Z` : v);
  return Number.isNaN(d.getTime()) ? null : d;
};

const OVER = new Set(['finished', 'completed', 'fulfilled', 'noshow', 'inactive', 'revoked']);
const VOID = new Set(['cancelled', 'entered-in-error']);

/** Every care link a resource records (none for other types, or a void record). */
export function careLinksOf(resource: AnyResource): CareLink[] {
  const r = resource as AnyResource & Record<string, unknown>;
  const status = typeof r.status === 'string' ? r.status : undefined;
  if (status && VOID.has(status)) return [];
  const patients: string[] = [];
  const departments: string[] = [];
  const staff: string[] = [];
  let start: Date | null = null;
  let end: Date | null = null;
  const period = (p: unknown) => {
    const pp = (p ?? {}) as { start?: string; end?: string };
    start = date(pp.start);
    end = date(pp.end);
  };
  const push = <T>(list: T[], v: T | null) => {
    if (v !== null && !list.includes(v)) list.push(v);
  };
  switch (resource.resourceType) {
    case 'Encounter': {
      push(patients, idIn(r.subject as Ref, 'Patient'));
      push(departments, idIn(r.serviceProvider as Ref, 'Organization'));
      for (const p of (r.participant as { individual?: Ref }[] | undefined) ?? []) push(staff, staffRef(p.individual));
      period(r.period);
      break;
    }
    case 'Appointment': {
      for (const p of (r.participant as { actor?: Ref }[] | undefined) ?? []) {
        push(patients, idIn(p.actor, 'Patient'));
        push(staff, staffRef(p.actor));
      }
      start = date(r.start);
      end = date(r.end) ?? start;
      break;
    }
    case 'EpisodeOfCare': {
      push(patients, idIn(r.patient as Ref, 'Patient'));
      push(departments, idIn(r.managingOrganization as Ref, 'Organization'));
      push(staff, staffRef(r.careManager as Ref));
      period(r.period);
      break;
    }
    case 'CareTeam': {
      push(patients, idIn(r.subject as Ref, 'Patient'));
      for (const o of (r.managingOrganization as Ref[] | undefined) ?? []) push(departments, idIn(o, 'Organization'));
      for (const p of (r.participant as { member?: Ref }[] | undefined) ?? []) {
        push(staff, staffRef(p.member));
        push(departments, idIn(p.member, 'Organization'));
      }
      period(r.period);
      break;
    }
    case 'ServiceRequest': {
      push(patients, idIn(r.subject as Ref, 'Patient'));
      for (const p of [...((r.performer as Ref[] | undefined) ?? []), r.requester as Ref]) {
        push(departments, idIn(p, 'Organization'));
        push(staff, staffRef(p));
      }
      start = date(r.authoredOn);
      end = start;
      break;
    }
    default:
      return [];
  }
  // A record that is over but names no end ended when it started.
  if (end === null && status && OVER.has(status)) end = start;
  const out: CareLink[] = [];
  for (const patientId of patients) {
    for (const department of departments) out.push({ patientId, department, practitioner: null, startsAt: start, endsAt: end });
    for (const practitioner of staff) out.push({ patientId, department: null, practitioner, startsAt: start, endsAt: end });
  }
  return out;
}

/** v3-Confidentiality codes that make a patient's record restricted (R: restricted, V: very restricted). */
const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const RESTRICTING = new Set(['R', 'V']);

/** The restricting labels of a Patient (meta.security), e.g. ['R']; empty for an ordinary record. */
export function restrictionLabelsOf(resource: AnyResource): string[] {
  const labels = (resource.meta?.security ?? []) as { system?: string; code?: string }[];
  return labels.filter((l) => l.system === CONFIDENTIALITY && l.code && RESTRICTING.has(l.code)).map((l) => l.code as string);
}
