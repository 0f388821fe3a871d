/**
 * The official FHIR R4 examples (hl7.fhir.r4.examples@4.0.1), for tests that want real-world
 * resources rather than hand-made ones: validation, HTTP round trips, search.
 * The package keeps every example in its root as `<Type>-<id>.json`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface OfficialExample {
  /** File name inside the package, e.g. 'Patient-example.json'. */
  readonly file: string;
  readonly resourceType: string;
  // The examples are arbitrary FHIR JSON; callers narrow as they need.
  readonly resource: Record<string, unknown> & { resourceType: string; id?: string };
}

const packageDir = dirname(createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/package.json'));

/**
 * Every example of each requested type: all `<Type>-*.json` files whose resourceType is exactly
 * that type (file prefixes alone would be ambiguous only if a type name were followed by '-' in
 * another's, which none is, but the resourceType check also drops mis-filed files).
 * Sorted by file name so test output is stable. Each call returns fresh copies, safe to mutate.
 */
export function loadOfficialExamples(types: readonly string[]): OfficialExample[] {
  const wanted = new Set(types);
  const out: OfficialExample[] = [];
  for (const file of readdirSync(packageDir).sort()) {
    const type = file.split('-')[0];
    if (!file.endsWith('.json') || type === undefined || !wanted.has(type) || !file.includes('-')) continue;
    const resource = JSON.parse(readFileSync(join(packageDir, file), 'utf8')) as OfficialExample['resource'];
    if (resource.resourceType !== type) continue;
    out.push({ file, resourceType: type, resource });
  }
  return out;
}
