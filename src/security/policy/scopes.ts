/**
 * SMART on FHIR scopes as permissions for the policy: which interaction a scope's letters allow.
 * Scopes are parsed by the identity module (security/identity/scopes.ts: v2 `cruds`, v1
 * `read|write|*`, `*` for every type); `system/` scopes belong to integration clients, `user/`
 * scopes narrow what an app may do for a signed-in member of staff (the role still decides first).
 * Anything else a token holds (`offline_access`, `online_access`) grants no data.
 */
import type { Interaction } from '../../fhir/context.js';
import { parseResourceScope } from '../identity/scopes.js';

const LETTER: Partial<Record<Interaction, 'c' | 'r' | 'u' | 'd' | 's'>> = {
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

function some(scopes: readonly string[], context: 'system' | 'user', type: string, letters: readonly string[]): boolean {
  return scopes.some((s) => {
    const p = parseResourceScope(s);
    return p !== null && p.context === context && (p.type === '*' || p.type === type) && letters.some((l) => p.perms.has(l as 'r'));
  });
}

/** Whether some scope of `context` grants `interaction` on `type`. */
export function scopeAllows(scopes: readonly string[], context: 'system' | 'user', type: string, interaction: Interaction): boolean {
  const letter = LETTER[interaction];
  return letter !== undefined && some(scopes, context, type, [letter]);
}

/** Whether some scope of `context` lets a resource of `type` be read (r or s) or written (c, u or d). */
export function scopeCovers(scopes: readonly string[], context: 'system' | 'user', type: string, purpose: 'read' | 'write'): boolean {
  return some(scopes, context, type, purpose === 'read' ? ['r', 's'] : ['c', 'u', 'd']);
}
