/**
 * @medplum/core reports choice-type elements by their definition name ('Observation.value[x].value');
 * FHIRPath and clients want the JSON name ('Observation.valueQuantity.value'). We resolve each
 * `name[x]` segment by looking at the resource itself for the key that fills the choice.
 */

const SEGMENT = /^([A-Za-z_][A-Za-z0-9_]*(?:\[x\])?)((?:\[\d+\])*)$/;

function step(current: unknown, key: string): unknown {
  if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
  return (current as Record<string, unknown>)[key];
}

/** Rewrites `name[x]` segments to the concrete JSON key found in `resource`; other segments untouched. */
export function resolveChoicePath(resource: unknown, path: string): string {
  if (!path.includes('[x]')) return path;
  const segments = path.split('.');
  // The first segment is the resource type, not a key.
  let current: unknown = resource;
  const out: string[] = [segments[0] ?? ''];
  for (const seg of segments.slice(1)) {
    const m = SEGMENT.exec(seg);
    if (!m) return path; // Not a path we understand; leave it as the library gave it.
    let name = m[1] ?? '';
    const indexes = m[2] ?? '';
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      const obj = typeof current === 'object' && current !== null ? (current as Record<string, unknown>) : {};
      const key = Object.keys(obj).find((k) => k.length > base.length && k.startsWith(base) && /[A-Z]/.test(k.charAt(base.length)));
      if (key) name = key;
    }
    current = step(current, name);
    for (const idx of indexes.matchAll(/\[(\d+)\]/g)) {
      current = Array.isArray(current) ? current[Number(idx[1])] : undefined;
    }
    out.push(name + indexes);
  }
  return out.join('.');
}

/** The JSON value at a (concrete, choice-resolved) FHIRPath like 'Patient.name[0].given[1]'. */
export function valueAtPath(resource: unknown, path: string): unknown {
  let current: unknown = resource;
  for (const seg of path.split('.').slice(1)) {
    const m = SEGMENT.exec(seg);
    if (!m) return undefined;
    current = step(current, m[1] ?? '');
    for (const idx of (m[2] ?? '').matchAll(/\[(\d+)\]/g)) {
      current = Array.isArray(current) ? current[Number(idx[1])] : undefined;
    }
  }
  return current;
}
