/**
 * A patient's conditions (problems and diagnoses), read-only, for clinicians in the patient's care.
 * Anyone else who opens the address sees the server's refusal and the rule that made it.
 */
import type { Bundle, Condition, Patient } from '@medplum/fhirtypes';
import { Link } from '../app/router.js';
import { formatDdMmYyyy } from '../../../src/hospital/registration/rules.js';
import { Problem } from '../ui/Problem.js';
import { latinName, uhidOf } from './format.js';
import { useFhir } from './useFhir.js';

function conceptText(c: Condition['code']): string {
  return c?.text ?? c?.coding?.find((x) => x.display)?.display ?? c?.coding?.[0]?.code ?? '(not coded)';
}

function icd(c: Condition['code']): string | undefined {
  return c?.coding?.find((x) => /icd-?10/i.test(x.system ?? ''))?.code;
}

function status(c: Condition['clinicalStatus']): string {
  return c?.coding?.[0]?.code ?? c?.text ?? '';
}

function onset(c: Condition): string {
  return formatDdMmYyyy(c.onsetDateTime?.slice(0, 10) ?? c.onsetPeriod?.start?.slice(0, 10)) || c.onsetString || '';
}

export function ConditionsPage({ id }: { readonly id: string }) {
  const patient = useFhir<Patient>(`/fhir/Patient/${encodeURIComponent(id)}`);
  const conditions = useFhir<Bundle<Condition>>(`/fhir/Condition?patient=${encodeURIComponent(`Patient/${id}`)}&_count=100`);
  return (
    <div className="page">
      <div className="page-head">
        <p className="crumbs">
          <Link to={`/patients/${encodeURIComponent(id)}`}>
            {patient.state === 'ok' ? `${latinName(patient.value)} · ${uhidOf(patient.value) ?? ''}` : 'Patient'}
          </Link>
        </p>
        <h1>Conditions</h1>
      </div>
      {conditions.state === 'loading' ? <p className="muted">Loading…</p> : null}
      {conditions.state === 'failed' ? <Problem error={conditions.error} /> : null}
      {conditions.state === 'ok' ? <ConditionTable bundle={conditions.value} /> : null}
    </div>
  );
}

function ConditionTable({ bundle }: { readonly bundle: Bundle<Condition> }) {
  const list = (bundle.entry ?? []).map((e) => e.resource).filter((r): r is Condition => r?.resourceType === 'Condition');
  if (list.length === 0) return <p className="muted">No conditions are recorded that you may see.</p>;
  return (
    <table className="table" aria-label="Conditions">
      <thead>
        <tr>
          <th scope="col">Condition</th>
          <th scope="col">ICD-10</th>
          <th scope="col">Status</th>
          <th scope="col">Onset</th>
          <th scope="col">Recorded</th>
        </tr>
      </thead>
      <tbody>
        {list.map((c, i) => (
          <tr key={c.id ?? i}>
            <td>{conceptText(c.code)}</td>
            <td className="mono">{icd(c.code) ?? ''}</td>
            <td>{status(c.clinicalStatus)}</td>
            <td>{onset(c)}</td>
            <td>{formatDdMmYyyy(c.recordedDate?.slice(0, 10))}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
