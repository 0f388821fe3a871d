/**
 * Probable duplicates of a patient about to be registered: anyone with the same phone number, or
 * a name that sounds the same (phonetic search) and the same year of birth. A candidate list for
 * the desk to compare side by side, never a decision.
 */
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { get } from '../api/http.js';

export type DuplicateReason = 'same phone' | 'same name and year of birth';

export interface Candidate {
  readonly patient: Patient & { id: string };
  readonly reasons: readonly DuplicateReason[];
}

export function duplicateSearches(p: Patient): { reason: DuplicateReason; query: string }[] {
  const out: { reason: DuplicateReason; query: string }[] = [];
  const phone = p.telecom?.find((t) => t.system === 'phone')?.value;
  if (phone)
    out.push({
      reason: 'same phone',
      query: new URLSearchParams([
        ['phone', phone],
        ['_count', '10'],
      ]).toString(),
    });
  const name = p.name?.find((n) => n.use === 'official')?.text;
  const year = p.birthDate?.slice(0, 4);
  if (name && year) {
    out.push({
      reason: 'same name and year of birth',
      query: new URLSearchParams([
        ['phonetic', name],
        ['birthdate', year],
        ['_count', '10'],
      ]).toString(),
    });
  }
  return out;
}

export function combine(results: readonly { reason: DuplicateReason; patients: readonly (Patient & { id: string })[] }[]): Candidate[] {
  const byId = new Map<string, { patient: Patient & { id: string }; reasons: DuplicateReason[] }>();
  for (const { reason, patients } of results) {
    for (const patient of patients) {
      const c = byId.get(patient.id) ?? { patient, reasons: [] };
      if (!c.reasons.includes(reason)) c.reasons.push(reason);
      byId.set(patient.id, c);
    }
  }
  // Both reasons first.
  return [...byId.values()].sort((a, b) => b.reasons.length - a.reasons.length);
}

export async function findDuplicates(p: Patient): Promise<Candidate[]> {
  const searches = duplicateSearches(p);
  const results = await Promise.all(
    searches.map(async (s) => ({
      reason: s.reason,
      patients: ((await get<Bundle>(`/fhir/Patient?${s.query}`)).body.entry ?? [])
        .map((e) => e.resource)
        .filter((r): r is Patient & { id: string } => r?.resourceType === 'Patient' && typeof r.id === 'string'),
    })),
  );
  return combine(results);
}
