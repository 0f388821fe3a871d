/**
 * The registration desk: search first (every walk-in may already have a UHID), then register.
 * Alt+N opens a new registration from anywhere on the desk, prefilled with what was searched for.
 */
import { useCallback, useEffect, useRef } from 'react';
import { navigate, routeState } from '../app/router.js';
import type { RegistrationForm } from './form.js';
import { prefillFrom } from './prefill.js';
import { PatientFinder } from './PatientFinder.js';
import { RegisterForm } from './RegisterForm.js';
import type { SearchCriteria } from './search.js';

export function RegistrationDesk({ mode }: { readonly mode: 'search' | 'new' }) {
  const criteria = useRef<SearchCriteria | undefined>(undefined);
  const onCriteria = useCallback((c: SearchCriteria) => {
    criteria.current = c;
  }, []);
  const openNew = useCallback(() => {
    navigate('/register/new', { state: { prefill: criteria.current ? prefillFrom(criteria.current) : {} } });
  }, []);

  useEffect(() => {
    if (mode !== 'search') return;
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey && !e.ctrlKey && !e.metaKey && (e.code === 'KeyN' || e.key.toLowerCase() === 'n')) {
        e.preventDefault();
        openNew();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [mode, openNew]);

  if (mode === 'new') {
    const prefill = routeState<{ prefill?: Partial<RegistrationForm> }>()?.prefill ?? {};
    return (
      <div className="page">
        <RegisterForm prefill={prefill} onCancel={() => navigate('/register')} />
      </div>
    );
  }
  return (
    <div className="page">
      <div className="page-head">
        <h1>Registration desk</h1>
        <p className="muted">Search before registering: most patients have been here before.</p>
      </div>
      <PatientFinder
        onCriteria={onCriteria}
        actions={
          <button type="button" onClick={openNew} aria-keyshortcuts="Alt+N">
            New registration <kbd>Alt+N</kbd>
          </button>
        }
      />
    </div>
  );
}
