import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import type { SearchPage } from '../../src/fhir/search/index.js';
import { testDbKinds } from '../support/db.js';
import { openSearchDb, put, search } from './helpers.js';

const pad = (i: number) => String(i).padStart(2, '0');

describe.each(testDbKinds())('keyset paging on $name', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await openSearchDb(kind);
    await put(
      db,
      Array.from({ length: 25 }, (_, i) => ({
        resourceType: 'Patient',
        id: `pat-${pad(i)}`,
        name: [{ family: `Verma${pad(i)}` }],
        // Every fifth patient has no birth date (must sort last); others share years in pairs.
        ...(i % 5 === 4 ? {} : { birthDate: `${1950 + Math.floor(i / 2)}` }),
      })),
    );
  });
  afterAll(async () => db?.close());

  const page = (q: string, cursor?: string) => search(db, 'Patient', cursor ? `${q}&_cursor=${cursor}` : q);
  const idsOf = (p: SearchPage) => p.matches.map((m) => m.id);

  it('pages forward and backward by id with inserts and deletes between pages', async () => {
    const q = 'name=verma&_count=10';
    const p1 = await page(q);
    expect(idsOf(p1)).toEqual(Array.from({ length: 10 }, (_, i) => `pat-${pad(i)}`));
    expect(p1.prevCursor).toBeUndefined();
    expect(p1.nextCursor).toBeDefined();
    // Rows appear before and after the cursor, and one row of the next page disappears.
    await put(db, [
      { resourceType: 'Patient', id: 'pat-05x', name: [{ family: 'Verma05x' }] },
      { resourceType: 'Patient', id: 'pat-12x', name: [{ family: 'Verma12x' }] },
    ]);
    await put(db, [{ resourceType: 'Patient', id: 'pat-14', name: [{ family: 'Verma14' }] }], undefined, true);
    const p2 = await page(q, p1.nextCursor);
    expect(idsOf(p2)).toEqual(['pat-10', 'pat-11', 'pat-12', 'pat-12x', 'pat-13', 'pat-15', 'pat-16', 'pat-17', 'pat-18', 'pat-19']);
    const p3 = await page(q, p2.nextCursor);
    expect(idsOf(p3)).toEqual(['pat-20', 'pat-21', 'pat-22', 'pat-23', 'pat-24']);
    expect(p3.nextCursor).toBeUndefined();
    expect(p3.prevCursor).toBeDefined();
    const b2 = await page(q, p3.prevCursor);
    expect(idsOf(b2)).toEqual(idsOf(p2));
    expect(b2.prevCursor).toBeDefined();
    expect(b2.nextCursor).toBeDefined();
    const b1 = await page(q, b2.prevCursor);
    // 11 rows lie before pat-10 now (pat-05x was inserted): the page nearest the cursor is returned.
    expect(idsOf(b1)).toEqual(['pat-01', 'pat-02', 'pat-03', 'pat-04', 'pat-05', 'pat-05x', 'pat-06', 'pat-07', 'pat-08', 'pat-09']);
    const b0 = await page(q, b1.prevCursor);
    expect(idsOf(b0)).toEqual(['pat-00']);
    expect(b0.prevCursor).toBeUndefined();
    const again = await page(q, b0.nextCursor);
    expect(idsOf(again)).toEqual(idsOf(b1));
    // Undo the test's changes for the next test.
    await put(db, [{ resourceType: 'Patient', id: 'pat-14', name: [{ family: 'Verma14' }] }]);
    await put(
      db,
      ['pat-05x', 'pat-12x'].map((id) => ({ resourceType: 'Patient', id })),
      undefined,
      true,
    );
  });

  it('pages over a descending date sort with missing values last, both ways', async () => {
    const q = 'name=verma&_count=10&_sort=-birthdate';
    const all = (await search(db, 'Patient', 'name=verma&_count=100&_sort=-birthdate')).matches.map((m) => m.id);
    expect(all).toHaveLength(25);
    // Newest first; equal years fall back to id ascending; the five without birth date come last.
    expect(all.slice(0, 4)).toEqual(['pat-22', 'pat-23', 'pat-20', 'pat-21']);
    expect(all.slice(20)).toEqual(['pat-04', 'pat-09', 'pat-14', 'pat-19', 'pat-24']);
    const forward: string[] = [];
    const pages: SearchPage[] = [];
    let cursor: string | undefined;
    do {
      const p = await page(q, cursor);
      pages.push(p);
      forward.push(...idsOf(p));
      cursor = p.nextCursor;
    } while (cursor);
    expect(pages.map((p) => p.matches.length)).toEqual([10, 10, 5]);
    expect(forward).toEqual(all);
    const backward: string[][] = [];
    let back = pages[2]?.prevCursor;
    while (back) {
      const p = await page(q, back);
      backward.unshift(idsOf(p));
      back = p.prevCursor;
    }
    expect(backward.flat()).toEqual(all.slice(0, 20));
  });

  it('pages over a descending string sort', async () => {
    const q = 'name=verma&_count=7&_sort=-family';
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const p = await page(q, cursor);
      seen.push(...idsOf(p));
      cursor = p.nextCursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `pat-${pad(24 - i)}`));
  });

  it('sorts on several keys', async () => {
    const p = await search(db, 'Patient', 'name=verma&_count=4&_sort=birthdate,-_id');
    expect(idsOf(p)).toEqual(['pat-01', 'pat-00', 'pat-03', 'pat-02']);
    const n = await page('name=verma&_count=4&_sort=birthdate,-_id', p.nextCursor);
    expect(idsOf(n)).toEqual(['pat-05', 'pat-07', 'pat-06', 'pat-08']);
  });

  it('rejects garbage and foreign cursors with 400', async () => {
    await expect(page('name=verma', 'not-a-cursor')).rejects.toMatchObject({
      status: 400,
      issues: [expect.objectContaining({ expression: ['_cursor'] })],
    });
    await expect(page('name=verma', '%%%')).rejects.toMatchObject({ status: 400 });
    const p = await page('name=verma&_count=2');
    await expect(page('name=verma&_count=2&_sort=birthdate', p.nextCursor)).rejects.toMatchObject({ status: 400 });
    const forged = Buffer.from(JSON.stringify([1, 'Patient|birthdate', 'n', ['not a date'], 'pat-01'])).toString('base64url');
    await expect(page('name=verma&_sort=birthdate', forged)).rejects.toMatchObject({ status: 400 });
  });
});
