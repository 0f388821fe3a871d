/**
 * SMART on FHIR scopes as permissions: v2 `context/Type.cruds` (any subset, in that order) and v1
 * `context/Type.read|write|*`, with `*` for every type. `system/` scopes belong to integration
 * clients; `user/` scopes narrow what an app may do on behalf of a signed-in member of staff (the
 * role still decides first).
 */
import type { Interaction } from '../../fhir/context.js';

const SCOPE = /^(system|user|patient)\/(\*|[A-Z][A-Za-z]{1,63})\.(\*|read|write|c?r?u?d?s?)$/;

const LETTER: Partial<Record<Interaction, string>> = {
  create: 'c',
  read: 'r',
  vread: 'r',
  'history-instance': 'r',
  'history-type': 'r',
  'history-system': 'r',
  update: 'u',
  patch: 'u',
  delete: 'd',
  'search-type': 's',
};

function permissions(p: string): string {
  if (p === '*') return 'cruds';
  if (p === 'read') return 'rs';
  if (p === 'write') return 'cud';
  return p;
}

/** Whether some scope of `context` grants `interaction` on `type`. */
export function scopeAllows(scopes: readonly string[], context: 'system' | 'user', type: string, interaction: Interaction): boolean {
  const letter = LETTER[interaction];
  if (!letter) return false;
  return scopes.some((s) => {
    const m = SCOPE.exec(s);
    return m !== null && m[1] === context && (m[2] === '*' || m[2] === type) && permissions(m[3] as string).includes(letter);
  });
}

/** Whether some scope of `context` lets a resource of `type` be read (r or s) or written (c, u or d). */
export function scopeCovers(scopes: readonly string[], context: 'system' | 'user', type: string, purpose: 'read' | 'write'): boolean {
  const letters = purpose === 'read' ? 'rs' : 'cud';
  return scopes.some((s) => {
    const m = SCOPE.exec(s);
    return (
      m !== null && m[1] === context && (m[2] === '*' || m[2] === type) && [...letters].some((l) => permissions(m[3] as string).includes(l))
    );
  });
}
