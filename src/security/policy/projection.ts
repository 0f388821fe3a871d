/**
 * Keeps the policy's tables (schema.ts) in step with the resources that define them: care links
 * from encounters, appointments, episodes, care teams and laboratory orders, and restriction
 * labels from patients. As a write observer it runs inside each write's transaction, so a new
 * encounter grants its clinicians access exactly when it commits, and a new restriction label
 * takes effect with the write that sets it, on every app server at once.
 *
 * `buildPolicyProjection` fills the tables from what is already stored (a database that held data
 * before the policy existed), once, before the server serves; it records its position after
 * every batch, so an interrupted build resumes where it stopped.
 */
import type { WriteObserver } from '../../fhir/guard.js';
import type { StoredResource } from '../../fhir/types.js';
import type { Db, Queryable, SqlValue } from '../../store/db.js';
import type { ResourceStore } from '../../store/resources.js';
import { careLinksOf, LINK_SOURCES, restrictionLabelsOf } from './care-links.js';

const PROJECTED = new Set<string>([...LINK_SOURCES, 'Patient']);
const BUILD = 'care-links-and-restrictions-v1';

export class PolicyProjection implements WriteObserver {
  /** `onChange`: told which patients' labels or care links a write changed (the policy forgets what it cached about them). */
  constructor(
    private readonly tenantId: string,
    private readonly onChange?: (patients: readonly string[]) => void,
  ) {}

  async written(tx: Queryable, stored: StoredResource): Promise<void> {
    if (!PROJECTED.has(stored.resourceType)) return;
    await this.project(tx, stored);
  }

  /** Replaces what one resource contributes (nothing, once it is deleted). */
  async project(q: Queryable, s: StoredResource): Promise<void> {
    const t = this.tenantId;
    if (s.resourceType === 'Patient') {
      const labels = s.deleted ? [] : restrictionLabelsOf(s.resource);
      this.onChange?.([s.id]);
      if (labels.length === 0) {
        await q.query('DELETE FROM policy_restricted_patient WHERE tenant_id = $1 AND patient_id = $2', [t, s.id]);
      } else {
        await q.query(
          `INSERT INTO policy_restricted_patient (tenant_id, patient_id, labels) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, patient_id) DO UPDATE SET labels = EXCLUDED.labels`,
          [t, s.id, labels],
        );
      }
      return;
    }
    const gone = await q.query<{ patient_id: string }>(
      'DELETE FROM policy_care_link WHERE tenant_id = $1 AND source_type = $2 AND source_id = $3 RETURNING patient_id',
      [t, s.resourceType, s.id],
    );
    const links = s.deleted ? [] : careLinksOf(s.resource);
    const touched = new Set([...gone.rows.map((r) => r.patient_id), ...links.map((l) => l.patientId)]);
    if (touched.size > 0) this.onChange?.([...touched]);
    if (links.length === 0) return;
    const values: string[] = [];
    const params: SqlValue[] = [t, s.resourceType, s.id];
    for (const l of links) {
      const n = params.length;
      values.push(`($1, $2, $3, $${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5})`);
      params.push(l.patientId, l.department, l.practitioner, l.startsAt, l.endsAt);
    }
    await q.query(
      `INSERT INTO policy_care_link (tenant_id, source_type, source_id, patient_id, department, practitioner, starts_at, ends_at) VALUES ${values.join(', ')}`,
      params,
    );
  }
}

export interface ProjectionProgress {
  readonly done: number;
  readonly total: number;
}

/**
 * Projects every stored Patient and care-link source once, unless done before. Returns how many
 * resources it read (0 when the projection was already built).
 */
export async function buildPolicyProjection(
  db: Db,
  store: ResourceStore,
  onProgress?: (p: ProjectionProgress) => void,
  batch = 500,
): Promise<number> {
  const t = store.tenantId;
  const state = await db.query<{ position: string | null; built_at: Date | null }>(
    'SELECT position, built_at FROM policy_projection WHERE tenant_id = $1 AND name = $2',
    [t, BUILD],
  );
  const row = state.rows[0];
  if (row?.built_at) return 0;
  const types = [...PROJECTED].sort();
  const total = await store.count(db, types);
  const projection = new PolicyProjection(t);
  if (total === 0) {
    await markBuilt(db, t);
    return 0;
  }
  if (!row) await db.query('INSERT INTO policy_projection (tenant_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [t, BUILD]);
  // position: "<type> <last id>" of the last batch committed.
  const [startType, startAfter] = (row?.position ?? '').split(' ');
  let done = 0;
  onProgress?.({ done, total });
  for (const type of types) {
    if (startType && type < startType) continue;
    let after = type === startType ? startAfter : undefined;
    for (;;) {
      const page = await db.transaction(async (tx) => {
        const rows = await store.scan(tx, type, after, batch);
        for (const s of rows) await projection.project(tx, s);
        const last = rows.at(-1);
        if (last) {
          await tx.query('UPDATE policy_projection SET position = $3 WHERE tenant_id = $1 AND name = $2', [t, BUILD, `${type} ${last.id}`]);
        }
        return rows;
      });
      if (page.length === 0) break;
      after = page.at(-1)?.id;
      done += page.length;
      onProgress?.({ done, total });
    }
  }
  await markBuilt(db, t);
  return done;
}

async function markBuilt(db: Db, tenantId: string): Promise<void> {
  await db.query(
    `INSERT INTO policy_projection (tenant_id, name, built_at) VALUES ($1, $2, now())
     ON CONFLICT (tenant_id, name) DO UPDATE SET built_at = now()`,
    [tenantId, BUILD],
  );
}
