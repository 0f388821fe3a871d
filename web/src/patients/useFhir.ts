/** Loads one FHIR resource or search for a screen, with its error (the server's refusal included). */
import { useEffect, useState } from 'react';
import { get } from '../api/http.js';

export type Loaded<T> =
  | { readonly state: 'loading' }
  | { readonly state: 'ok'; readonly value: T }
  | { readonly state: 'failed'; readonly error: unknown };

export function useFhir<T>(path: string): Loaded<T> {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  useEffect(() => {
    let live = true;
    setLoaded({ state: 'loading' });
    get<T>(path).then(
      (r) => live && setLoaded({ state: 'ok', value: r.body }),
      (error) => live && setLoaded({ state: 'failed', error }),
    );
    return () => {
      live = false;
    };
  }, [path]);
  return loaded;
}
