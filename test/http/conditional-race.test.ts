/**
 * Conditional create under concurrency: eight clients register the same patient at once with
 * the same If-None-Exist; exactly one creates it, the others get the one that exists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDbKinds } from '../support/db.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe.each(testDbKinds())('conditional create, eight at once, on $name', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('creates one resource, however the requests interleave', async () => {
    for (let round = 0; round < 3; round++) {
      const value = `RACE-${round}-${Date.now()}`;
      const body = { resourceType: 'Patient', identifier: [{ system: 'urn:test:race', value }], name: [{ family: 'Race' }] };
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => s.fhir('POST', 'Patient', body, { 'if-none-exist': `identifier=urn:test:race|${value}` })),
      );
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
      expect(new Set(answers.map((a) => a.body?.id)).size).toBe(1);
      const found = await s.fhir('GET', `Patient?identifier=urn:test:race|${value}`);
      expect(found.body.entry).toHaveLength(1);
    }
  });
});
