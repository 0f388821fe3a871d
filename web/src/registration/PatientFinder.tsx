/**
 * Search for a patient: the criteria form (Enter searches) and the results table. Used by the
 * registration desk (which adds "New registration") and by the clinical roles' patient look-up.
 */
import { type FormEvent, type ReactNode, useEffect, useRef, useState } from 'react';
import { Link } from '../app/router.js';
import { birthAndAge, formatPhone, latinName, nativeName, sexOf, shortPlace, uhidOf } from '../patients/format.js';
import { TextField } from '../ui/Field.js';
import { Problem } from '../ui/Problem.js';
import {
  checkCriteria,
  type CriteriaErrors,
  EMPTY_CRITERIA,
  findPatients,
  type MatchKind,
  type SearchCriteria,
  type SearchOutcome,
} from './search.js';

/** The last search, kept in memory (never in browser storage) so that Back finds it again. */
let lastSearch: { criteria: SearchCriteria; outcome: SearchOutcome | undefined } = { criteria: EMPTY_CRITERIA, outcome: undefined };

export function forgetLastSearch(): void {
  lastSearch = { criteria: EMPTY_CRITERIA, outcome: undefined };
}

const MATCH_LABEL: Record<MatchKind, string> = { name: 'name', 'sounds-like': 'sounds like', other: '' };

export function PatientFinder({
  actions,
  onCriteria,
}: {
  /** Buttons beside Search (the desk's "New registration"). */
  readonly actions?: ReactNode;
  /** Told of the criteria as typed (the desk prefills a registration with them). */
  readonly onCriteria?: (c: SearchCriteria) => void;
}) {
  const [criteria, setCriteria] = useState<SearchCriteria>(lastSearch.criteria);
  const [errors, setErrors] = useState<CriteriaErrors>({});
  const [outcome, setOutcome] = useState<SearchOutcome | undefined>(lastSearch.outcome);
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [hint, setHint] = useState<string | undefined>();
  const nameRef = useRef<HTMLInputElement>(null);

  useEffect(() => nameRef.current?.focus(), []);
  useEffect(() => onCriteria?.(criteria), [criteria, onCriteria]);

  const set = (k: keyof SearchCriteria) => (e: { target: { value: string } }) => setCriteria((c) => ({ ...c, [k]: e.target.value }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { errors: problems, none } = checkCriteria(criteria, new Date().getFullYear());
    setErrors(problems);
    setHint(none ? 'Type a name, phone number, UHID, ABHA number or year of birth to search' : undefined);
    if (none || Object.keys(problems).length > 0) return;
    setBusy(true);
    setFailure(undefined);
    try {
      const out = await findPatients(criteria);
      setOutcome(out);
      lastSearch = { criteria, outcome: out };
    } catch (err) {
      setFailure(err);
      setOutcome(undefined);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="finder" aria-label="Find a patient">
      <form className="search-form" onSubmit={submit} noValidate>
        <TextField
          label="Name"
          name="name"
          hint="any spelling, or in an Indian script"
          inputRef={nameRef}
          value={criteria.name}
          onChange={set('name')}
          error={errors.name}
          autoComplete="off"
        />
        <TextField
          label="Mobile number"
          name="phone"
          inputMode="tel"
          value={criteria.phone}
          onChange={set('phone')}
          error={errors.phone}
          autoComplete="off"
        />
        <TextField
          label="UHID"
          name="uhid"
          value={criteria.uhid}
          onChange={set('uhid')}
          error={errors.uhid}
          autoComplete="off"
          spellCheck={false}
        />
        <TextField
          label="ABHA number or address"
          name="abha"
          value={criteria.abha}
          onChange={set('abha')}
          error={errors.abha}
          autoComplete="off"
          spellCheck={false}
        />
        <TextField
          label="Year of birth"
          name="birthYear"
          inputMode="numeric"
          maxLength={4}
          value={criteria.birthYear}
          onChange={set('birthYear')}
          error={errors.birthYear}
          autoComplete="off"
        />
        <div className="search-actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Searching…' : 'Search'}
          </button>
          {actions}
        </div>
      </form>
      {hint ? (
        <p className="banner banner-info" role="status">
          {hint}
        </p>
      ) : null}
      {failure ? <Problem error={failure} title="The search failed" /> : null}
      {outcome ? <Results outcome={outcome} /> : null}
    </section>
  );
}

function Results({ outcome }: { readonly outcome: SearchOutcome }) {
  const { found, more, notes } = outcome;
  return (
    <div className="results">
      <p className="results-summary" role="status">
        {found.length === 0
          ? 'No patient matches.'
          : `${found.length} patient${found.length === 1 ? '' : 's'} found${more ? ' (more match: narrow the search)' : ''}.`}
      </p>
      {notes.map((n) => (
        <p key={n} className="muted small">
          {n}
        </p>
      ))}
      {found.length > 0 ? (
        <table className="table" aria-label="Patients found">
          <thead>
            <tr>
              <th scope="col">UHID</th>
              <th scope="col">Name</th>
              <th scope="col">Sex</th>
              <th scope="col">Born (age)</th>
              <th scope="col">Mobile</th>
              <th scope="col">Place · PIN</th>
              <th scope="col">Matched by</th>
            </tr>
          </thead>
          <tbody>
            {found.map(({ patient, match }) => (
              <tr key={patient.id}>
                <td className="mono">{uhidOf(patient) ?? '—'}</td>
                <td>
                  <Link to={`/patients/${encodeURIComponent(patient.id)}`}>{latinName(patient)}</Link>
                  {nativeName(patient) ? <div className="native">{nativeName(patient)}</div> : null}
                </td>
                <td>{sexOf(patient)}</td>
                <td>{birthAndAge(patient)}</td>
                <td className="mono">{formatPhone(patient.telecom?.find((t) => t.system === 'phone')?.value)}</td>
                <td>{shortPlace(patient)}</td>
                <td>{MATCH_LABEL[match] ? <span className={`tag tag-${match}`}>{MATCH_LABEL[match]}</span> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
