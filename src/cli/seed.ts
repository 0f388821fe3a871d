/**
 * Loads the demo hospital through the FHIR operation layer, one transaction Bundle at a time.
 * Each Bundle is all-or-nothing, and a Bundle whose first patient (by UHID) already exists is
 * skipped, so an interrupted seed resumes where it stopped when run again.
 */
import type { Bundle, Identifier, Patient } from '@medplum/fhirtypes';
import { demoHospitalBundles } from '../hospital/demo/index.js';
import { Progress } from './progress.js';
import type { FhirTarget } from './target.js';

export interface SeedResult {
  readonly bundles: number;
  readonly loaded: number;
  readonly skipped: number;
  readonly resources: number;
}

export async function seedDemo(target: FhirTarget, opts: { patients?: number; seed?: number; quiet?: boolean } = {}): Promise<SeedResult> {
  const bundles = demoHospitalBundles({ ...(opts.patients ? { patients: opts.patients } : {}), ...(opts.seed ? { seed: opts.seed } : {}) });
  const progress = opts.quiet ? undefined : new Progress('loading demo hospital (bundles)', bundles.length);
  let loaded = 0;
  let skipped = 0;
  let resources = 0;
  for (const [i, bundle] of bundles.entries()) {
    if (await alreadyLoaded(target, bundle)) {
      skipped++;
    } else {
      const res = await target.request('POST', '', bundle);
      if (res.status !== 200) {
        throw new Error(`demo bundle ${i + 1} of ${bundles.length} was refused (${res.status}): ${JSON.stringify(res.body).slice(0, 600)}`);
      }
      loaded++;
      resources += bundle.entry?.length ?? 0;
    }
    progress?.update(i + 1, `${resources} resources written`);
  }
  return { bundles: bundles.length, loaded, skipped, resources };
}

async function alreadyLoaded(target: FhirTarget, bundle: Bundle): Promise<boolean> {
  const entries = bundle.entry ?? [];
  const patient = entries.map((e) => e.resource).find((r): r is Patient => r?.resourceType === 'Patient');
  const id: Identifier | undefined = patient?.identifier?.[0];
  if (id?.system && id.value) {
    const res = await target.request('GET', `Patient?identifier=${encodeURIComponent(`${id.system}|${id.value}`)}&_summary=count`);
    return res.status === 200 && ((res.body as Bundle).total ?? 0) > 0;
  }
  // A Bundle of fixed-id PUTs (the hospital, its staff, schedules) is loaded if its first target exists.
  const put = entries.find((e) => e.request?.method === 'PUT');
  if (put?.request?.url) return (await target.request('GET', put.request.url)).status === 200;
  return false;
}
