/** The demo hospital's staff: one account per role, created once, each with an initial password that must be changed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoAccounts, demoAccountsText } from '../../src/cli/demo-accounts.js';
import { STAFF_ROLES } from '../../src/fhir/context.js';
import { testDbKinds } from '../support/db.js';
import { type IdentityHarness, OPERATOR, openIdentity, TENANT } from './helpers.js';

describe.each(testDbKinds().slice(0, 1))('demo accounts on $name', (kind) => {
  let h: IdentityHarness;
  beforeAll(async () => {
    h = await openIdentity(kind);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('creates one account per role once, with initial passwords that must be changed at first sign-in', async () => {
    const created = await createDemoAccounts(h.s.identity, TENANT);
    expect(created.map((c) => c.role).sort()).toEqual([...STAFF_ROLES].sort());
    expect(new Set(created.map((c) => c.initialPassword)).size).toBe(STAFF_ROLES.length);
    const text = demoAccountsText(created, 'http://127.0.0.1:8080');
    expect(text).toMatch(/shown ONCE/);
    expect(text).toContain(created[0]?.initialPassword);
    const doctor = await h.s.identity.accountByUsername('dr.anjali.mehta');
    expect(doctor).toMatchObject({
      practitionerId: 'dr-anjali-mehta',
      practitionerRoleIds: ['role-dr-anjali-mehta'],
      passwordMustChange: true,
    });
    expect(await createDemoAccounts(h.s.identity, TENANT)).toEqual([]);
    const step = await h.s.identity.signIn(h.ctx(), {
      username: 'dr.anjali.mehta',
      password: created.find((c) => c.role === 'doctor')?.initialPassword as string,
    });
    expect(step.session.stage).toBe('password');
    expect(h.audit.entries.filter((e) => e.interaction === 'admin-users' && e.query === 'create')).toHaveLength(STAFF_ROLES.length);
    expect(OPERATOR.kind).toBe('local-operator');
  });
});
