/**
 * The walk-in registration form, keyboard first: fields in the order the desk asks for them (Tab
 * moves on, Enter registers), each error beside its field, DD-MM-YYYY dates (or the age when the
 * date is not known), a parent or guardian required under 18. Before creating anyone it looks for
 * probable duplicates and shows them side by side with what was typed.
 */
import type { Patient } from '@medplum/fhirtypes';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/outcome.js';
import { navigate } from '../app/router.js';
import { istToday } from '../../../src/hospital/registration/rules.js';
import { SelectField, TextField } from '../ui/Field.js';
import { Problem } from '../ui/Problem.js';
import { registerPatient } from './api.js';
import { type Candidate, findDuplicates } from './duplicates.js';
import { DuplicateReview } from './DuplicateReview.js';
import {
  EMPTY_FORM,
  type FieldName,
  type FormErrors,
  fieldOfPath,
  GUARDIAN_RELATIONS,
  needsGuardian,
  type RegistrationForm,
  toPatient,
  validate,
} from './form.js';
import { INDIAN_STATES } from './states.js';

const SEXES: readonly (readonly [string, string])[] = [
  ['', 'Choose…'],
  ['female', 'Female'],
  ['male', 'Male'],
  ['other', 'Other'],
  ['unknown', 'Unknown'],
];

export function RegisterForm({ prefill, onCancel }: { readonly prefill: Partial<RegistrationForm>; readonly onCancel: () => void }) {
  const [form, setForm] = useState<RegistrationForm>({ ...EMPTY_FORM, ...prefill });
  const [errors, setErrors] = useState<FormErrors>({});
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [review, setReview] = useState<{ patient: Patient; candidates: Candidate[] } | undefined>();
  const first = useRef<HTMLInputElement>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const today = istToday(new Date());
  const minor = needsGuardian(form, today);

  useEffect(() => first.current?.focus(), []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !review) onCancel();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onCancel, review]);

  const set = (k: FieldName) => (e: { target: { value: string } }) => {
    const value = e.target.value;
    setForm((f) => ({ ...f, [k]: value }));
    // An error goes once its field is changed; the others stay until the next check.
    setErrors((errs) => (errs[k] ? { ...errs, [k]: undefined } : errs));
  };

  /** Focuses the first field with an error, so the keyboard lands where the work is. */
  const focusFirstError = (errs: FormErrors) => {
    setTimeout(() => {
      const el = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
      el?.focus();
    }, 0);
    return errs;
  };

  const create = async (patient: Patient) => {
    setBusy(true);
    setFailure(undefined);
    try {
      const created = await registerPatient(patient);
      navigate(`/patients/${encodeURIComponent(created.id)}`, { state: { registered: true } });
    } catch (err) {
      setReview(undefined);
      if (err instanceof ApiError && err.status === 400) {
        const byField: FormErrors = {};
        const unplaced: string[] = [];
        for (const i of err.issues) {
          const field = (i.expression ?? []).map((x) => fieldOfPath(x, patient)).find(Boolean);
          const text = i.diagnostics ?? i.details?.text ?? '';
          if (field && !byField[field]) byField[field] = text;
          else unplaced.push(text);
        }
        setErrors(focusFirstError(byField));
        if (unplaced.length > 0)
          setFailure(
            new ApiError(
              400,
              unplaced.map((d) => ({ diagnostics: d })),
            ),
          );
      } else {
        setFailure(err);
      }
    } finally {
      setBusy(false);
    }
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problems = validate(form, today);
    setErrors(problems);
    if (Object.keys(problems).length > 0) {
      focusFirstError(problems);
      return;
    }
    const patient = toPatient(form, today);
    setBusy(true);
    setFailure(undefined);
    let candidates: Candidate[];
    try {
      candidates = await findDuplicates(patient);
    } catch (err) {
      setFailure(err);
      setBusy(false);
      return;
    }
    setBusy(false);
    if (candidates.length > 0) setReview({ patient, candidates });
    else await create(patient);
  };

  if (review) {
    return (
      <DuplicateReview
        draft={review.patient}
        candidates={review.candidates}
        busy={busy}
        onRegisterAnyway={() => void create(review.patient)}
        onBack={() => setReview(undefined)}
      />
    );
  }

  const v = form;
  return (
    <form ref={formRef} className="register-form" onSubmit={submit} noValidate aria-labelledby="register-title">
      <div className="form-head">
        <h2 id="register-title">New registration</h2>
        <span className="muted small">Tab moves to the next field · Enter registers · Esc goes back to the search</span>
      </div>
      {failure ? <Problem error={failure} title="Not registered" /> : null}
      <fieldset>
        <legend>Patient</legend>
        <div className="grid grid-3">
          <TextField
            label="Given name(s)"
            name="given"
            inputRef={first}
            value={v.given}
            onChange={set('given')}
            error={errors.given}
            autoComplete="off"
          />
          <TextField
            label="Family name"
            name="family"
            hint="empty if the person uses one name"
            value={v.family}
            onChange={set('family')}
            error={errors.family}
            autoComplete="off"
          />
          <TextField
            label="Name in Indian script"
            name="nativeName"
            hint="optional: देवनागरी, தமிழ், বাংলা…"
            lang="hi"
            value={v.nativeName}
            onChange={set('nativeName')}
            error={errors.nativeName}
            autoComplete="off"
          />
        </div>
        <div className="grid grid-4">
          <SelectField label="Sex" name="sex" options={SEXES} value={v.sex} onChange={set('sex')} error={errors.sex} />
          <TextField
            label="Date of birth"
            name="dob"
            placeholder="DD-MM-YYYY"
            inputMode="numeric"
            value={v.dob}
            onChange={set('dob')}
            error={errors.dob}
            autoComplete="off"
          />
          <TextField
            label="or age in years"
            name="age"
            hint="when the date is not known"
            inputMode="numeric"
            maxLength={3}
            value={v.age}
            onChange={set('age')}
            error={errors.age}
            disabled={v.dob.trim() !== ''}
            autoComplete="off"
          />
          <TextField
            label="Mobile number"
            name="phone"
            inputMode="tel"
            value={v.phone}
            onChange={set('phone')}
            error={errors.phone}
            autoComplete="off"
          />
        </div>
      </fieldset>
      <fieldset>
        <legend>Address</legend>
        <div className="grid grid-6">
          <TextField
            label="House, street"
            name="addressLine"
            value={v.addressLine}
            onChange={set('addressLine')}
            error={errors.addressLine}
            autoComplete="off"
          />
          <TextField
            label="Locality, area"
            name="locality"
            value={v.locality}
            onChange={set('locality')}
            error={errors.locality}
            autoComplete="off"
          />
          <TextField
            label="Town, city or village"
            name="city"
            value={v.city}
            onChange={set('city')}
            error={errors.city}
            autoComplete="off"
          />
          <TextField
            label="District"
            name="district"
            value={v.district}
            onChange={set('district')}
            error={errors.district}
            autoComplete="off"
          />
          <SelectField
            label="State or UT"
            name="state"
            options={[['', 'Choose…'] as const, ...INDIAN_STATES.map((s) => [s, s] as const)]}
            value={v.state}
            onChange={set('state')}
            error={errors.state}
          />
          <TextField
            label="PIN code"
            name="pin"
            inputMode="numeric"
            maxLength={7}
            value={v.pin}
            onChange={set('pin')}
            error={errors.pin}
            autoComplete="off"
          />
        </div>
      </fieldset>
      <div className="pair">
        <fieldset>
          <legend>ABHA (optional)</legend>
          <div className="grid grid-2">
            <TextField
              label="ABHA number"
              name="abhaNumber"
              placeholder="XX-XXXX-XXXX-XXXX"
              inputMode="numeric"
              value={v.abhaNumber}
              onChange={set('abhaNumber')}
              error={errors.abhaNumber}
              autoComplete="off"
            />
            <TextField
              label="ABHA address"
              name="abhaAddress"
              placeholder="name.1234@abdm"
              value={v.abhaAddress}
              onChange={set('abhaAddress')}
              error={errors.abhaAddress}
              autoComplete="off"
              spellCheck={false}
            />
          </div>
        </fieldset>
        <fieldset className={minor ? 'required-now' : ''}>
          <legend>Parent or guardian {minor ? '(required: the patient is under 18)' : '(required under 18)'}</legend>
          <div className="grid grid-3">
            <TextField
              label="Name"
              name="guardianName"
              value={v.guardianName}
              onChange={set('guardianName')}
              error={errors.guardianName}
              autoComplete="off"
            />
            <SelectField
              label="Relationship"
              name="guardianRelation"
              options={[['', 'Choose…'] as const, ...GUARDIAN_RELATIONS]}
              value={v.guardianRelation}
              onChange={set('guardianRelation')}
              error={errors.guardianRelation}
            />
            <TextField
              label="Their mobile number"
              name="guardianPhone"
              inputMode="tel"
              value={v.guardianPhone}
              onChange={set('guardianPhone')}
              error={errors.guardianPhone}
              autoComplete="off"
            />
          </div>
        </fieldset>
      </div>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Register patient'}
        </button>
        <button type="button" onClick={onCancel}>
          Back to search
        </button>
        {Object.keys(errors).some((k) => errors[k as FieldName]) ? (
          <span className="field-error" role="status">
            Correct the {Object.values(errors).filter(Boolean).length} marked field(s)
          </span>
        ) : null}
      </div>
    </form>
  );
}
