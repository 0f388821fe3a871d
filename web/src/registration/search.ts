/**
 * Finding a patient before registering one, with the server's own search (src/fhir/search):
 * names by prefix (`name`) and by sound (`phonetic`: Indian-name spelling variants and Indian
 * scripts), phone, UHID, ABHA number or address (exact, blind-indexed identifiers) and year of
 * birth. Criteria combine (all must hold); a name runs as both kinds of name search, merged.
 */
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { get } from '../api/http.js';
import { ApiError } from '../api/outcome.js';
import { ABHA_ADDRESS_SYSTEM, ABHA_NUMBER_SYSTEM, abhaNumberProblem, normaliseAbhaNumber } from '../../../src/hospital/ids/abha.js';
import { parseUhid, UHID_SYSTEM } from '../../../src/hospital/ids/uhid.js';
import { normaliseIndianMobile } from '../../../src/hospital/registration/rules.js';

export interface SearchCriteria {
  readonly name: string;
  readonly phone: string;
  readonly uhid: string;
  /** An ABHA number (XX-XXXX-XXXX-XXXX) or an ABHA address (name@abdm). */
  readonly abha: string;
  readonly birthYear: string;
}

export const EMPTY_CRITERIA: SearchCriteria = { name: '', phone: '', uhid: '', abha: '', birthYear: '' };

export type CriteriaErrors = Partial<Record<keyof SearchCriteria, string>>;

export type MatchKind = 'name' | 'sounds-like' | 'other';

export interface Found {
  readonly patient: Patient & { id: string };
  /** How the name matched: its beginning as typed, or its sound (a spelling variant). */
  readonly match: MatchKind;
}

/** Problems with the criteria, by field; `none` when nothing was typed. */
export function checkCriteria(c: SearchCriteria, thisYear: number): { errors: CriteriaErrors; none: boolean } {
  const errors: CriteriaErrors = {};
  const none = Object.values(c).every((v) => v.trim() === '');
  if (c.name.trim() && c.name.trim().length < 2) errors.name = 'Type at least 2 letters of the name';
  if (c.phone.trim()) {
    const p = normaliseIndianMobile(c.phone);
    if ('problem' in p) errors.phone = p.problem;
  }
  if (c.uhid.trim() && !parseUhid(c.uhid.trim().toUpperCase())) {
    errors.uhid = /^[A-Za-z]{2,6}-\d{4}-\d{6,}-\d$/.test(c.uhid.trim())
      ? 'this UHID’s check digit does not match: a digit is mistyped'
      : 'a UHID looks like SDH-2026-000123-3';
  }
  if (c.abha.trim() && !c.abha.includes('@')) {
    const problem = abhaNumberProblem(c.abha);
    if (problem) errors.abha = problem;
  }
  if (c.birthYear.trim()) {
    const y = Number(c.birthYear.trim());
    if (!/^\d{4}$/.test(c.birthYear.trim()) || y < 1880 || y > thisYear)
      errors.birthYear = `a year of birth has 4 digits (1880-${thisYear})`;
  }
  return { errors, none };
}

/** The FHIR search parameters of the criteria other than the name. */
function common(c: SearchCriteria): [string, string][] {
  const q: [string, string][] = [];
  if (c.phone.trim()) {
    const p = normaliseIndianMobile(c.phone);
    q.push(['phone', 'phone' in p ? p.phone : c.phone.trim()]);
  }
  if (c.uhid.trim()) q.push(['identifier', `${UHID_SYSTEM}|${c.uhid.trim().toUpperCase()}`]);
  if (c.abha.trim()) {
    q.push(
      c.abha.includes('@')
        ? ['identifier', `${ABHA_ADDRESS_SYSTEM}|${c.abha.trim().toLowerCase()}`]
        : ['identifier', `${ABHA_NUMBER_SYSTEM}|${normaliseAbhaNumber(c.abha) ?? c.abha.trim()}`],
    );
  }
  if (c.birthYear.trim()) q.push(['birthdate', c.birthYear.trim()]);
  return q;
}

export interface PlannedSearch {
  readonly match: MatchKind;
  readonly query: string;
}

export const PAGE = 20;

/** The searches the criteria stand for: with a name, by its beginning and by its sound. */
export function plan(c: SearchCriteria): PlannedSearch[] {
  const base = common(c);
  const qs = (extra: [string, string][]) => new URLSearchParams([...base, ...extra, ['_count', String(PAGE)]]).toString();
  const name = c.name.trim().replace(/\s+/g, ' ');
  if (!name) return [{ match: 'other', query: qs([]) }];
  return [
    { match: 'name', query: qs([['name', name]]) },
    { match: 'sounds-like', query: qs([['phonetic', name]]) },
  ];
}

/** Merges result lists: each patient once, under the first (best) kind of match that found them. */
export function merge(lists: readonly { match: MatchKind; patients: readonly (Patient & { id: string })[] }[]): Found[] {
  const seen = new Set<string>();
  const out: Found[] = [];
  for (const { match, patients } of lists) {
    for (const patient of patients) {
      if (seen.has(patient.id)) continue;
      seen.add(patient.id);
      out.push({ patient, match });
    }
  }
  return out;
}

function patientsOf(b: Bundle): (Patient & { id: string })[] {
  return (b.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is Patient & { id: string } => r?.resourceType === 'Patient' && typeof r.id === 'string');
}

export interface SearchOutcome {
  readonly found: Found[];
  /** More matches than one page of some search: narrow the criteria. */
  readonly more: boolean;
  /** Searches the server could not run, and why (e.g. a name with no phonetic key). */
  readonly notes: string[];
}

export async function findPatients(c: SearchCriteria): Promise<SearchOutcome> {
  const planned = plan(c);
  const settled = await Promise.allSettled(planned.map((p) => get<Bundle>(`/fhir/Patient?${p.query}`)));
  const lists: { match: MatchKind; patients: (Patient & { id: string })[] }[] = [];
  const notes: string[] = [];
  let more = false;
  settled.forEach((s, i) => {
    const p = planned[i] as PlannedSearch;
    if (s.status === 'fulfilled') {
      lists.push({ match: p.match, patients: patientsOf(s.value.body) });
      if (s.value.body.link?.some((l) => l.relation === 'next')) more = true;
    } else if (s.reason instanceof ApiError && s.reason.status === 400 && p.match === 'sounds-like') {
      notes.push(`Search by sound was not possible: ${s.reason.message}`);
    } else {
      throw s.reason;
    }
  });
  return { found: merge(lists), more, notes };
}
