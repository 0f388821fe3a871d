/** One patient's registration record: identifiers, names, contact, address, guardian. */
import type { Patient } from '@medplum/fhirtypes';
import { useEffect, useRef } from 'react';
import { Link, routeState } from '../app/router.js';
import { isClinical } from '../app/roles.js';
import { formatIstDateTime } from '../../../src/hospital/registration/rules.js';
import { Problem } from '../ui/Problem.js';
import {
  abhaAddressOf,
  abhaNumberOf,
  addressLines,
  birthAndAge,
  formatPhone,
  latinName,
  nativeName,
  phoneOf,
  sexOf,
  uhidOf,
} from './format.js';
import { useFhir } from './useFhir.js';

export function PatientPage({ id, roles }: { readonly id: string; readonly roles: readonly string[] }) {
  const loaded = useFhir<Patient>(`/fhir/Patient/${encodeURIComponent(id)}`);
  const registered = routeState<{ registered?: boolean }>()?.registered === true;
  const heading = useRef<HTMLHeadingElement>(null);
  const ready = loaded.state === 'ok';
  useEffect(() => {
    if (ready) heading.current?.focus();
  }, [ready]);

  if (loaded.state === 'loading') return <p className="page muted">Loading…</p>;
  if (loaded.state === 'failed') {
    return (
      <div className="page">
        <Problem error={loaded.error} title="The patient could not be shown" />
      </div>
    );
  }
  const p = loaded.value;
  const uhid = uhidOf(p);
  const guardian = p.contact?.[0];
  const rows: [string, string | undefined][] = [
    ['Sex', sexOf(p)],
    ['Born', birthAndAge(p)],
    ['Mobile', formatPhone(phoneOf(p))],
    ['Address', addressLines(p.address?.[0]).join(', ')],
    ['ABHA number', abhaNumberOf(p)],
    ['ABHA address', abhaAddressOf(p)],
    [
      'Parent or guardian',
      guardian
        ? [guardian.name?.text, guardian.relationship?.[0]?.text, formatPhone(guardian.telecom?.find((t) => t.system === 'phone')?.value)]
            .filter(Boolean)
            .join(' · ')
        : undefined,
    ],
    ['Record updated', formatIstDateTime(p.meta?.lastUpdated)],
  ];
  return (
    <div className="page">
      {registered ? (
        <div className="banner banner-success" role="status">
          Registered. Give the patient their UHID: <strong className="mono">{uhid}</strong>
        </div>
      ) : null}
      <article className="patient-card">
        <header>
          <div>
            <h1 ref={heading} tabIndex={-1}>
              {latinName(p)}
            </h1>
            {nativeName(p) ? <div className="native large">{nativeName(p)}</div> : null}
          </div>
          <div className="uhid">
            <span className="muted small">UHID</span>
            <span className="mono" data-testid="uhid">
              {uhid ?? '—'}
            </span>
          </div>
        </header>
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
        {isClinical(roles) ? (
          <nav className="sub-nav" aria-label="Patient record">
            <Link to={`/patients/${encodeURIComponent(id)}/conditions`}>Conditions</Link>
          </nav>
        ) : null}
      </article>
    </div>
  );
}
