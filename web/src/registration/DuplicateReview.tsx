/**
 * Probable duplicates, side by side with what was typed, before anyone is created: the desk opens
 * the existing record, or registers a new patient knowingly.
 */
import type { Patient } from '@medplum/fhirtypes';
import { type ReactNode, useEffect, useRef } from 'react';
import { Link } from '../app/router.js';
import { abhaNumberOf, addressLines, birthAndAge, formatPhone, latinName, nativeName, phoneOf, sexOf, uhidOf } from '../patients/format.js';
import type { Candidate } from './duplicates.js';

function Card({ patient, title, children }: { readonly patient: Patient; readonly title: string; readonly children?: ReactNode }) {
  const rows: [string, string | undefined][] = [
    ['UHID', uhidOf(patient) ?? 'given at registration'],
    ['Name', latinName(patient)],
    ['In Indian script', nativeName(patient)],
    ['Sex', sexOf(patient)],
    ['Born', birthAndAge(patient)],
    ['Mobile', formatPhone(phoneOf(patient))],
    ['Address', addressLines(patient.address?.[0]).join(', ')],
    ['ABHA number', abhaNumberOf(patient)],
    ['Parent or guardian', patient.contact?.[0]?.name?.text],
  ];
  return (
    <article className="compare-card">
      <h3>{title}</h3>
      <dl className="facts">
        {rows
          .filter(([, v]) => v)
          .map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
      </dl>
      {children}
    </article>
  );
}

export function DuplicateReview({
  draft,
  candidates,
  busy,
  onRegisterAnyway,
  onBack,
}: {
  readonly draft: Patient;
  readonly candidates: readonly Candidate[];
  readonly busy: boolean;
  readonly onRegisterAnyway: () => void;
  readonly onBack: () => void;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section className="duplicates" aria-labelledby="dup-title">
      <h2 id="dup-title" ref={heading} tabIndex={-1}>
        This patient may already be registered
      </h2>
      <p className="lead">
        {candidates.length === 1 ? 'A registered patient has' : `${candidates.length} registered patients have`} the same mobile number, or
        a name that sounds the same and the same year of birth. Compare them with the new entry: open the existing record if it is the same
        person.
      </p>
      <div className="compare">
        <Card patient={draft} title="New entry (not saved)" />
        {candidates.map((c) => (
          <Card key={c.patient.id} patient={c.patient} title={`Registered · ${c.reasons.join(', ')}`}>
            <Link className="button" to={`/patients/${encodeURIComponent(c.patient.id)}`}>
              Open this record
            </Link>
          </Card>
        ))}
      </div>
      <div className="form-actions">
        <button type="button" className="primary" onClick={onRegisterAnyway} disabled={busy}>
          {busy ? 'Registering…' : 'Not the same person: register new patient'}
        </button>
        <button type="button" onClick={onBack} disabled={busy}>
          Back to the form
        </button>
      </div>
    </section>
  );
}
