/**
 * The official R4 examples of every hospital resource type go through the HTTP API and come
 * back unchanged; a broken copy of each is refused with an OperationOutcome naming the path.
 * AuditEvent is the exception: it is the server's own audit log, which nobody writes through the
 * API (405; test/audit/auditevent.test.ts), so its examples are checked by the validator alone
 * (test/validation).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDbKinds } from '../support/db.js';
import { loadOfficialExamples } from '../support/examples.js';
import { type TestServer, startTestServer } from '../support/server.js';
import { HOSPITAL_TYPES } from '../validation/helpers.js';

/** Genuinely invalid R4 in the official package; see test/validation/official-examples.test.ts. */
const KNOWN_INVALID = new Set(['MedicationRequest-medrx0301.json', 'Observation-clinical-gender.json']);

function withoutServerMeta(r: Record<string, unknown>): Record<string, unknown> {
  const { meta, ...rest } = r as { meta?: Record<string, unknown> };
  if (!meta) return rest;
  const { versionId: _v, lastUpdated: _l, ...keep } = meta;
  return Object.keys(keep).length > 0 ? { ...rest, meta: keep } : rest;
}

const STORED_TYPES = HOSPITAL_TYPES.filter((t) => t !== 'AuditEvent');

describe.each(testDbKinds())('official R4 examples over HTTP on $name', (kind) => {
  let s: TestServer;
  const examples = loadOfficialExamples(STORED_TYPES).filter((e) => !KNOWN_INVALID.has(e.file));
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(async () => {
    await s?.close();
  });

  it(`stores and returns all ${examples.length} examples unchanged`, async () => {
    const problems: string[] = [];
    for (const e of examples) {
      const id = e.resource.id as string;
      const put = await s.fhir('PUT', `${e.resourceType}/${id}`, e.resource);
      if (put.status !== 201 && put.status !== 200) {
        problems.push(`${e.file}: PUT ${put.status} ${JSON.stringify(put.body).slice(0, 200)}`);
        continue;
      }
      const read = await s.fhir('GET', `${e.resourceType}/${id}`);
      try {
        expect(withoutServerMeta(read.body)).toEqual(withoutServerMeta(e.resource));
      } catch {
        problems.push(`${e.file}: round trip changed the resource`);
      }
    }
    expect(problems).toEqual([]);
    expect(examples.length).toBeGreaterThan(300);
  });

  it('refuses to store the official AuditEvent examples: the audit log is append-only', async () => {
    const [example] = loadOfficialExamples(['AuditEvent']);
    expect(example).toBeDefined();
    const put = await s.fhir('PUT', `AuditEvent/${example?.resource.id}`, example?.resource);
    expect(put.status).toBe(405);
    expect(put.body.resourceType).toBe('OperationOutcome');
  });

  it.each(STORED_TYPES)('refuses a broken %s naming the path', async (type) => {
    const example = examples.find((e) => e.resourceType === type);
    expect(example, `an official ${type} example`).toBeDefined();
    const broken = { ...(example?.resource ?? {}), id: undefined, unknownElement: 'x', meta: { lastUpdated: 'yesterday' } };
    const r = await s.fhir('POST', type, broken);
    expect(r.status).toBe(400);
    expect(r.body.resourceType).toBe('OperationOutcome');
    const expressions = r.body.issue.flatMap((i: { expression?: string[] }) => i.expression ?? []);
    expect(expressions).toEqual(expect.arrayContaining([`${type}.unknownElement`, `${type}.meta.lastUpdated`]));
  });
});
