/**
 * A FHIR client nobody on this team wrote (Medplum's MedplumClient) talks to Sushruta: create,
 * read, update, search and page through results by following the server's links.
 */
import { MedplumClient } from '@medplum/core';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDbKinds } from '../support/db.js';
import { type TestServer, startTestServer } from '../support/server.js';

describe.each(testDbKinds())('MedplumClient against Sushruta on $name', (kind) => {
  let s: TestServer;
  let client: MedplumClient;
  beforeAll(async () => {
    s = await startTestServer(kind);
    client = new MedplumClient({ baseUrl: `${s.url}/`, fhirUrlPath: 'fhir', fetch: globalThis.fetch.bind(globalThis), cacheTime: 0 });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('creates, reads and updates a patient', async () => {
    const created = await client.createResource<Patient>({
      resourceType: 'Patient',
      name: [
        { family: 'Chaturvedi', given: ['Meenakshi'] },
        { family: 'चतुर्वेदी', given: ['मीनाक्षी'] },
      ],
      identifier: [{ system: 'https://sushruta.example.in/fhir/sid/uhid', value: 'CLIENT-0001' }],
      gender: 'female',
      birthDate: '1984-11-02',
    });
    expect(created.id).toBeTruthy();
    expect(created.meta?.versionId).toBe('1');
    const read = await client.readResource('Patient', created.id as string);
    expect(read.name?.[1]?.family).toBe('चतुर्वेदी');
    const updated = await client.updateResource<Patient>({ ...read, telecom: [{ system: 'phone', value: '+91 98100 00001' }] });
    expect(updated.meta?.versionId).toBe('2');
    const history = await client.readHistory('Patient', created.id as string);
    expect(history.entry).toHaveLength(2);
  });

  it('searches by Devanagari name and by identifier', async () => {
    const byName = await client.searchResources('Patient', { name: 'मीनाक्षी' });
    expect(byName.map((p) => p.identifier?.[0]?.value)).toEqual(['CLIENT-0001']);
    const byId = await client.searchOne('Patient', { identifier: 'https://sushruta.example.in/fhir/sid/uhid|CLIENT-0001' });
    expect(byId?.name?.[0]?.family).toBe('Chaturvedi');
  });

  it('pages through 25 results by following next links', async () => {
    for (let i = 0; i < 25; i++) {
      await client.createResource({ resourceType: 'Practitioner', name: [{ family: `Pager${String(i).padStart(2, '0')}` }], active: true });
    }
    const seen: string[] = [];
    let pages = 0;
    // Created one after another, so _lastUpdated order is name order (names themselves are blind-
    // indexed and cannot be sorted on).
    for await (const page of client.searchResourcePages('Practitioner', { active: 'true', _count: '10', _sort: '_lastUpdated' })) {
      pages++;
      for (const p of page) seen.push(p.name?.[0]?.family as string);
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `Pager${String(i).padStart(2, '0')}`));
  });
});
