/**
 * SMART on FHIR scopes (App Launch 2.0, section "Scopes and Launch Context"): what an integration
 * or an app may be registered for, what an app may ask for, and what it is granted.
 *
 * A resource scope is `context/Type.permissions`: context `system` (an integration, no user),
 * `user` (an app acting for a signed-in member of staff) or `patient` (one patient's record, which
 * needs a launch context Sushruta does not offer yet); Type a resource type or `*`; permissions in
 * v2 syntax (`c r u d s`, in that order: `rs`, `cruds`) or v1 (`read` = rs, `write` = cud, `*` =
 * cruds). Besides them an app may hold `offline_access` (refresh tokens that outlive the sign-in)
 * or `online_access` (refresh tokens only while the sign-in session that approved the app lives).
 *
 * What an app gets is the intersection of what it asks and what it was registered for, narrowed
 * scope by scope (`user/Patient.cruds` asked, `user/*.rs` registered: `user/Patient.rs`).
 */

/** SMART scopes: v2 (`system/Patient.rs`) and v1 (`system/Patient.read`), with `*` for every type. */
const SCOPE = /^(system|user|patient)\/(\*|[A-Z][A-Za-z]{1,63})\.(\*|read|write|c?r?u?d?s?)$/;
const PERMS = ['c', 'r', 'u', 'd', 's'] as const;
type Perm = (typeof PERMS)[number];

export const OFFLINE_ACCESS = 'offline_access';
export const ONLINE_ACCESS = 'online_access';

export interface ResourceScope {
  readonly context: 'system' | 'user' | 'patient';
  readonly type: string;
  readonly perms: ReadonlySet<Perm>;
  /** The scope as written. */
  readonly text: string;
  readonly v1: boolean;
}

export function parseResourceScope(s: string): ResourceScope | null {
  const m = SCOPE.exec(s);
  if (!m || m[3] === '') return null;
  const p = m[3] as string;
  const perms: Perm[] = p === 'read' ? ['r', 's'] : p === 'write' ? ['c', 'u', 'd'] : p === '*' ? [...PERMS] : (p.split('') as Perm[]);
  return {
    context: m[1] as ResourceScope['context'],
    type: m[2] as string,
    perms: new Set(perms),
    text: s,
    v1: p === 'read' || p === 'write' || p === '*',
  };
}

function v2(context: string, type: string, perms: ReadonlySet<Perm>): string {
  return `${context}/${type}.${PERMS.filter((x) => perms.has(x)).join('')}`;
}

/** Problems with the scopes of an integration (client credentials); any SMART resource scope. */
export function scopeProblems(scopes: readonly string[]): string[] {
  const out: string[] = [];
  if (scopes.length === 0) out.push('at least one scope is needed, e.g. system/Patient.rs');
  for (const s of scopes) {
    if (!parseResourceScope(s))
      out.push(`'${s}' is not a SMART scope (context/Type.permissions, e.g. system/Observation.cruds or system/*.rs)`);
  }
  return out;
}

const OIDC = new Set(['openid', 'fhirUser', 'profile']);

/**
 * Why one scope of an app is not acceptable, or null. At registration OpenID Connect scopes are
 * refused (not offered yet); in a request they are merely not granted (RFC 6749 section 3.3: the
 * server may ignore part of the scope), as an app can work without an id_token, but not with a
 * launch context it asked for and did not get.
 */
function appScopeProblem(s: string, registering: boolean): string | null {
  if (s === OFFLINE_ACCESS || s === ONLINE_ACCESS) return null;
  if (OIDC.has(s)) return registering ? `'${s}': OpenID Connect (openid, fhirUser) is not offered yet; register user/ scopes` : null;
  if (s === 'launch' || s.startsWith('launch/'))
    return `'${s}': EHR launch and launch context are not offered yet; apps use the standalone launch with user/ scopes`;
  if (s.includes('?')) return `'${s}': SMART v2 scope parameters (?name=value) are not supported`;
  const r = parseResourceScope(s);
  if (!r) return `'${s}' is not a SMART scope (user/Type.permissions such as user/Patient.rs, offline_access or online_access)`;
  if (r.context === 'system') return `'${s}': system/ scopes are for integrations without a user (client credentials), not for apps`;
  if (r.context === 'patient') return `'${s}': patient/ scopes need a patient launch context, which is not offered yet; use user/ scopes`;
  return null;
}

/** Problems with the scopes an app (a client with redirect URIs) is registered for. */
export function appScopeProblems(scopes: readonly string[]): string[] {
  const out = scopes.map((s) => appScopeProblem(s, true)).filter((p): p is string => p !== null);
  if (!scopes.some((s) => parseResourceScope(s)?.context === 'user')) out.push('at least one user/ scope is needed, e.g. user/Patient.rs');
  return out;
}

/**
 * What an app is granted when it asks for `requested` and was registered for `registered`:
 * every requested scope narrowed to what the registration allows (dropped when nothing is left).
 * A v1 scope granted whole keeps its v1 spelling; anything narrowed is written in v2.
 */
export function intersectScopes(requested: readonly string[], registered: readonly string[]): string[] {
  const out = new Set<string>();
  const reg = registered.map(parseResourceScope).filter((r): r is ResourceScope => r !== null);
  for (const q of requested) {
    if (q === OFFLINE_ACCESS || q === ONLINE_ACCESS) {
      if (registered.includes(q)) out.add(q);
      continue;
    }
    const r = parseResourceScope(q);
    if (!r) continue;
    for (const g of reg) {
      if (g.context !== r.context) continue;
      const type = g.type === '*' ? r.type : r.type === '*' || r.type === g.type ? g.type : null;
      if (type === null) continue;
      const perms = new Set([...r.perms].filter((p) => g.perms.has(p)));
      if (perms.size === 0) continue;
      const whole = type === r.type && perms.size === r.perms.size;
      out.add(whole && r.v1 ? r.text : v2(r.context, type, perms));
    }
  }
  return [...out];
}

/** The requested scopes not wholly covered by `granted` (a refresh may narrow, never widen: RFC 6749 section 6). */
export function uncoveredScopes(requested: readonly string[], granted: readonly string[]): string[] {
  const g = granted.map(parseResourceScope).filter((r): r is ResourceScope => r !== null);
  return requested.filter((q) => {
    if (q === OFFLINE_ACCESS || q === ONLINE_ACCESS) return !granted.includes(q);
    const r = parseResourceScope(q);
    if (!r) return true;
    const have = new Set<Perm>();
    for (const x of g) {
      if (x.context === r.context && (x.type === '*' || x.type === r.type)) for (const p of x.perms) have.add(p);
    }
    return [...r.perms].some((p) => !have.has(p));
  });
}

/**
 * An app's authorization request scopes: the problems (each naming the scope), or what is granted.
 * Asking for both offline_access and online_access is a problem; asking for a scope the app was
 * not registered for (or openid / fhirUser) is not: it is left out, and the token response's
 * `scope` says what was granted.
 */
export function grantAppScopes(requested: readonly string[], registered: readonly string[]): { problems: string[]; granted: string[] } {
  if (requested.length === 0) return { problems: ['scope is required, e.g. "user/Patient.rs offline_access"'], granted: [] };
  const problems = requested.map((s) => appScopeProblem(s, false)).filter((p): p is string => p !== null);
  if (requested.includes(OFFLINE_ACCESS) && requested.includes(ONLINE_ACCESS))
    problems.push('ask for offline_access or online_access, not both');
  if (problems.length > 0) return { problems, granted: [] };
  const granted = intersectScopes(requested, registered);
  if (!granted.some((s) => parseResourceScope(s) !== null)) {
    const allowed = registered.filter((s) => parseResourceScope(s)).join(' ');
    return { problems: [`none of the requested scopes is registered for this app (it may ask for ${allowed})`], granted: [] };
  }
  return { problems: [], granted };
}

/** A user-facing sentence for a scope on the consent page. */
export function describeScope(s: string): string {
  if (s === OFFLINE_ACCESS) return 'stay connected after you sign out (until you or an administrator revoke it)';
  if (s === ONLINE_ACCESS) return 'stay connected while you are signed in to Sushruta';
  const r = parseResourceScope(s);
  if (!r) return s;
  const verbs: Record<Perm, string> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };
  const what = r.type === '*' ? 'all records' : `${r.type} records`;
  return `${PERMS.filter((p) => r.perms.has(p))
    .map((p) => verbs[p])
    .join(', ')} ${what} that you can access`;
}
