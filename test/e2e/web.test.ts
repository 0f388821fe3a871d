/**
 * The web app end to end, in real Chromium against a real server (PGlite): a front-desk clerk's
 * first sign-in (own password, authenticator enrolment from the QR code's secret, recovery codes),
 * the registration desk (search by sound, a keyboard-first registration with errors beside the
 * fields, a UHID from the server, finding the patient again by a misspelled name, a probable
 * duplicate shown side by side), the server's refusal of clinical data with its rule, sign-out and
 * sign-in with a TOTP code, the idle warning, and what a doctor and an administrator are offered.
 * Each screen is photographed (docs/screenshots with `npm run screenshots`).
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatAbhaNumber } from '../../src/hospital/ids/abha.js';
import { formatUhid, isValidUhid, UHID_SYSTEM } from '../../src/hospital/ids/uhid.js';
import { verhoeffCheckDigit } from '../../src/hospital/ids/verhoeff.js';
import { istToday } from '../../src/hospital/registration/rules.js';
import { base32Decode, totp } from '../../src/security/identity/totp.js';
import { chromiumAvailable, type E2e, startE2e } from './harness.js';

const YEAR = Number(istToday(new Date()).slice(0, 4));

/** A valid ABHA number and the same with its check digit wrong. */
const ABHA_BODY = '9123456789012';
const ABHA_VALID = formatAbhaNumber(`${ABHA_BODY}${verhoeffCheckDigit(ABHA_BODY)}`);
const ABHA_WRONG = formatAbhaNumber(`${ABHA_BODY}${(verhoeffCheckDigit(ABHA_BODY) + 1) % 10}`);

const RETURNING = {
  resourceType: 'Patient',
  name: [{ use: 'official', text: 'Shrinivasan Raghavan', given: ['Shrinivasan'], family: 'Raghavan' }],
  gender: 'male',
  birthDate: '1961-03-09',
  telecom: [{ system: 'phone', value: '+919840012345', use: 'mobile' }],
  address: [
    { use: 'home', line: ['14, 2nd Cross Street', 'Mylapore'], city: 'Chennai', state: 'Tamil Nadu', postalCode: '600004', country: 'IN' },
  ],
};

const code = (secret: string, ahead = 0) => totp(base32Decode(secret), Date.now() / 1000 + ahead);

describe.skipIf(!chromiumAvailable())('the web app in Chromium', () => {
  let e: E2e;
  let returning: { id: string; uhid: string };
  const passwords: Record<string, string> = {};

  beforeAll(async () => {
    e = await startE2e();
    // A returning patient with a diagnosis, registered through the same workflow by the operator.
    const made = await e.operator('POST', '/hospital/registration', RETURNING);
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const p = made.body as { id: string; identifier: { system: string; value: string }[] };
    returning = { id: p.id, uhid: p.identifier.find((i) => i.system === UHID_SYSTEM)?.value ?? '' };
    const condition = await e.operator('POST', '/fhir/Condition', {
      resourceType: 'Condition',
      subject: { reference: `Patient/${p.id}` },
      code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'E11.9' }], text: 'Type 2 diabetes mellitus' },
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
      recordedDate: '2024-02-11',
    });
    expect(condition.status, JSON.stringify(condition.body)).toBe(201);
    // General Medicine is seeing him today: its doctors are in his care (the access policy's care relationship).
    const dept = await e.operator('PUT', '/fhir/Organization/dept-general-medicine', {
      resourceType: 'Organization',
      id: 'dept-general-medicine',
      name: 'General Medicine',
    });
    expect(dept.status, JSON.stringify(dept.body)).toBeLessThan(300);
    const visit = await e.operator('POST', '/fhir/Encounter', {
      resourceType: 'Encounter',
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: `Patient/${p.id}` },
      serviceProvider: { reference: 'Organization/dept-general-medicine' },
      period: { start: new Date().toISOString() },
    });
    expect(visit.status, JSON.stringify(visit.body)).toBe(201);
    passwords['frontdesk.pooja'] = await e.createAccount('frontdesk.pooja', 'Pooja Sharma', ['front-desk'], ['dept-general-medicine']);
    passwords['dr.meera'] = await e.createAccount('dr.meera', 'Dr Meera Iyer', ['doctor'], ['dept-general-medicine']);
    passwords['admin.suresh'] = await e.createAccount('admin.suresh', 'Suresh Nair', ['hospital-admin']);
  }, 240_000);

  afterAll(async () => {
    await e?.close();
  });

  /** The page a test is driving, photographed when the test fails (in the screenshot directory, as failed-*.png). */
  let current: Page | undefined;
  afterEach(async (t) => {
    if (t.task.result?.state === 'fail' && current && !current.isClosed()) {
      await e.screenshot(current, `failed-${t.task.name.slice(0, 40).replace(/[^A-Za-z0-9]+/g, '-')}`).catch(() => undefined);
    }
  });

  /** A first sign-in from the initial password to the app; returns the TOTP secret read off the page. */
  async function firstSignIn(page: Page, username: string, password: string, shots = false): Promise<string> {
    current = page;
    await page.goto(`${e.url}/`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/^Sign-in failed: the username or password is wrong/);
    if (shots) await e.screenshot(page, '01-sign-in-error');
    await page.getByLabel('Password').fill(passwords[username] as string);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Choose your own password' }).waitFor();
    await page.getByLabel('New password', { exact: true }).fill('too short');
    await page.keyboard.press('Enter');
    await page.getByText('Use at least 12 characters').waitFor();
    if (shots) await e.screenshot(page, '02-new-password');
    await page.getByLabel('New password', { exact: true }).fill(password);
    await page.getByLabel('New password again').fill(password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
    const secret = ((await page.getByTestId('totp-secret').textContent()) ?? '').replace(/\s/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    if (shots) await e.screenshot(page, '03-enrol-authenticator');
    await page.getByLabel('Code from the app').fill('000000' === code(secret) ? '111111' : '000000');
    await page.keyboard.press('Enter');
    await page.getByText('That code is not right').waitFor();
    await page.getByLabel('Code from the app').fill(code(secret));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Keep your recovery codes' }).waitFor();
    await expect.poll(() => page.getByTestId('recovery-codes').locator('li').count()).toBe(10);
    if (shots) await e.screenshot(page, '04-recovery-codes');
    await page.getByLabel('I have stored these codes').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    return secret;
  }

  let desk: Page;
  let deskSecret: string;
  let kavya: { uhid: string; url: string };

  it('signs a new front-desk clerk in: own password, an authenticator app from the QR code, recovery codes shown once', async () => {
    const context = await e.newContext();
    desk = await context.newPage();
    deskSecret = await firstSignIn(desk, 'frontdesk.pooja', 'monsoon over the old fort', true);
    // The clerk lands on the registration desk; nothing clinical is offered.
    await desk.getByRole('heading', { name: 'Registration desk' }).waitFor();
    const nav = desk.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Registration']);
    // The server tells the app how long idleness lasts (identity.sessionIdleMinutes, 30 by default).
    expect(await desk.evaluate("fetch('/auth/session').then((r) => r.json()).then((s) => s.idleTimeoutSeconds)")).toBe(1800);
  });

  it('finds a returning patient by another spelling of the name (Srinivasan for Shrinivasan)', async () => {
    await desk.getByLabel('Name').fill('Srinivasan');
    await desk.keyboard.press('Enter');
    const row = desk.getByRole('table', { name: 'Patients found' }).getByRole('row').filter({ hasText: 'Shrinivasan Raghavan' });
    await row.waitFor();
    expect(await row.textContent()).toContain(returning.uhid);
    expect(await row.textContent()).toContain('sounds like');
    expect(await row.textContent()).toContain('09-03-1961');
    await e.screenshot(desk, '05-registration-search');
  });

  it('registers a walk-in from the keyboard: errors beside the fields, a guardian for a minor, a valid ABHA number, a UHID from the server', async () => {
    await desk.getByLabel('Name').fill('');
    // Alt+N opens a new registration, Esc goes back to the search.
    await desk.keyboard.press('Alt+N');
    await desk.getByRole('heading', { name: 'New registration' }).waitFor();
    await desk.keyboard.press('Escape');
    await desk.getByRole('heading', { name: 'Registration desk' }).waitFor();
    // The desk keeps the last search (Srinivasan): a new registration would start from it.
    await desk.getByLabel('Name').fill('');
    await desk.keyboard.press('Alt+N');
    await desk.getByRole('heading', { name: 'New registration' }).waitFor();
    // Focus starts on the first field; Tab walks the form in reading order.
    const k = desk.keyboard;
    await k.type('kavya');
    await k.press('Tab');
    await k.type('sharma');
    await k.press('Tab');
    await k.type('काव्या शर्मा');
    await k.press('Tab');
    await desk.getByLabel('Sex').selectOption('female');
    await desk.getByLabel('Sex').focus();
    await k.press('Tab'); // date of birth: not known
    await k.press('Tab');
    await k.type('9');
    await k.press('Tab');
    await k.type('98100 23456');
    await k.press('Tab');
    await k.type('H.No. 212, Gali No. 4');
    await k.press('Tab');
    await k.type('Lajpat Nagar II');
    await k.press('Tab');
    await k.type('New Delhi');
    await k.press('Tab');
    await k.type('South East Delhi');
    await k.press('Tab');
    await desk.getByLabel('State or UT').selectOption('Delhi');
    await desk.getByLabel('PIN code').fill('11002');
    await desk.getByLabel('ABHA number').fill(ABHA_WRONG);
    await desk.getByLabel('ABHA number').press('Enter');
    // Every problem beside its field; the keyboard is taken to the first.
    await desk.getByText('a PIN code has 6 digits').waitFor();
    await desk.getByText('its check digit does not match').waitFor();
    await desk.getByText('A patient under 18 needs a parent or guardian').waitFor();
    await desk.getByText('Choose how they are related').waitFor();
    await expect.poll(() => desk.evaluate('document.activeElement?.getAttribute("name")')).toBe('pin');
    await e.screenshot(desk, '06-register-form-errors');

    await desk.getByLabel('PIN code').fill('110024');
    await desk.getByLabel('ABHA number').fill(ABHA_VALID);
    await desk.getByLabel('Name', { exact: true }).fill('sunita sharma');
    await desk.getByLabel('Relationship').selectOption('MTH');
    await desk.getByLabel('Their mobile number').fill('9810023456');
    await desk.getByLabel('Their mobile number').press('Enter');

    await desk.getByText('Registered. Give the patient their UHID').waitFor();
    const uhid = (await desk.getByTestId('uhid').textContent()) ?? '';
    expect(isValidUhid(uhid)).toBe(true);
    // The returning patient was the first of the year; this is the second.
    expect(returning.uhid).toBe(formatUhid('SDH', YEAR, 1));
    expect(uhid).toBe(formatUhid('SDH', YEAR, 2));
    const card = desk.locator('.patient-card');
    expect(await card.textContent()).toContain('Kavya Sharma');
    expect(await card.textContent()).toContain('काव्या शर्मा');
    expect(await card.textContent()).toContain(`${YEAR - 9} (about 9 y)`);
    expect(await card.textContent()).toContain(ABHA_VALID);
    expect(await card.textContent()).toContain('Sunita Sharma · Mother');
    kavya = { uhid, url: desk.url() };
    await e.screenshot(desk, '07-registered');
  });

  it('finds the new patient again by a misspelled name ("Kavya Sharmaa")', async () => {
    await desk.getByRole('link', { name: 'Registration' }).click();
    await desk.getByLabel('Name').fill('Kavya Sharmaa');
    await desk.keyboard.press('Enter');
    const row = desk.getByRole('table', { name: 'Patients found' }).getByRole('row').filter({ hasText: kavya.uhid });
    await row.waitFor();
    expect(await row.textContent()).toContain('Kavya Sharma');
    expect(await row.textContent()).toContain('sounds like');
    await e.screenshot(desk, '08-found-by-misspelling');
    // And by UHID, phone and year of birth, each on its own.
    for (const [label, value] of [
      ['UHID', kavya.uhid.toLowerCase()],
      ['Mobile number', '+91 98100 23456'],
      ['ABHA number or address', ABHA_VALID.replace(/-/g, '')],
    ] as const) {
      await desk.getByLabel('Name').fill('');
      await desk.getByLabel(label).fill(value);
      await desk.keyboard.press('Enter');
      await desk.getByRole('table', { name: 'Patients found' }).getByRole('row').filter({ hasText: kavya.uhid }).waitFor();
      await desk.getByLabel(label).fill('');
    }
  });

  it('shows a probable duplicate side by side before registering, and opens the existing record', async () => {
    await desk.getByLabel('Year of birth').fill('');
    await desk.getByLabel('Name').fill('Sreenivasan Raghavan');
    await desk.keyboard.press('Alt+N');
    await desk.getByRole('heading', { name: 'New registration' }).waitFor();
    // The search prefilled the name.
    expect(await desk.getByLabel('Given name(s)').inputValue()).toBe('Sreenivasan');
    expect(await desk.getByLabel('Family name').inputValue()).toBe('Raghavan');
    await desk.getByLabel('Sex').selectOption('male');
    await desk.getByLabel('Date of birth').fill('14-08-1961');
    await desk.getByLabel('Mobile number', { exact: true }).fill('9444012345');
    await desk.getByLabel('House, street').fill('7 Kutchery Road');
    await desk.getByLabel('Town, city or village').fill('Chennai');
    await desk.getByLabel('State or UT').selectOption('Tamil Nadu');
    await desk.getByLabel('PIN code').fill('600004');
    await desk.getByLabel('PIN code').press('Enter');
    await desk.getByRole('heading', { name: 'This patient may already be registered' }).waitFor();
    const existing = desk.locator('.compare-card').filter({ hasText: returning.uhid });
    expect(await existing.textContent()).toContain('same name and year of birth');
    expect(await desk.locator('.compare-card').first().textContent()).toContain('New entry (not saved)');
    await e.screenshot(desk, '09-duplicate-warning');
    await existing.getByRole('link', { name: 'Open this record' }).click();
    await expect.poll(() => desk.getByTestId('uhid').textContent()).toBe(returning.uhid);
  });

  it('shows the server’s refusal, with its rule, when the front desk opens a patient’s conditions', async () => {
    await desk.goto(`${e.url}/patients/${returning.id}/conditions`);
    await desk.getByRole('heading', { name: 'Access refused' }).waitFor();
    expect(await desk.getByTestId('refusal-rule').textContent()).toBe('role-category');
    expect(await desk.locator('body').textContent()).not.toContain('diabetes');
    await e.screenshot(desk, '10-access-refused');
  });

  it('signs out, and back in with a code from the authenticator app', async () => {
    await desk.getByRole('button', { name: 'Sign out' }).click();
    await desk.getByText('You have signed out.').waitFor();
    await desk.getByLabel('Username').fill('frontdesk.pooja');
    await desk.getByLabel('Password').fill('monsoon over the old fort');
    await desk.keyboard.press('Enter');
    await desk.getByLabel('6-digit code').waitFor();
    await desk.getByLabel('6-digit code').fill('12345');
    await desk.keyboard.press('Enter');
    await desk.getByText('Type the 6-digit code').waitFor();
    await e.screenshot(desk, '11-authenticator-code');
    // The enrolment used this 30-second step; a code is accepted once, so the next step's (within the allowed drift).
    await desk.getByLabel('6-digit code').fill(code(deskSecret, 30));
    await desk.keyboard.press('Enter');
    await desk.getByRole('heading', { name: 'Registration desk' }).waitFor();
  });

  it('warns before the idle time-out, and "Stay signed in" keeps the session', async () => {
    await desk.context().clock.install();
    await desk.reload();
    await desk.getByRole('heading', { name: 'Registration desk' }).waitFor();
    await desk.clock.fastForward('28:30');
    const dialog = desk.getByRole('alertdialog', { name: 'Are you still there?' });
    await dialog.waitFor();
    expect(await desk.getByTestId('idle-countdown').textContent()).toMatch(/^0:\d\d$/);
    await e.screenshot(desk, '12-idle-warning');
    await dialog.getByRole('button', { name: 'Stay signed in' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await desk.getByRole('heading', { name: 'Registration desk' }).waitFor();
    await desk.context().close();
  });

  it('offers a doctor patient look-up and the conditions of patients in their care, not registration', async () => {
    const page = await (await e.newContext()).newPage();
    await firstSignIn(page, 'dr.meera', 'cardamom hills after rain');
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Patients']);
    await page.getByLabel('Name').fill('Srinivasan');
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: 'Shrinivasan Raghavan' }).click();
    await page.getByRole('link', { name: 'Conditions' }).click();
    const row = page.getByRole('table', { name: 'Conditions' }).getByRole('row').filter({ hasText: 'Type 2 diabetes mellitus' });
    await row.waitFor();
    expect(await row.textContent()).toContain('E11.9');
    expect(await row.textContent()).toContain('11-02-2024');
    await e.screenshot(page, '13-doctor-conditions');
    // Outside their care the same screen shows nothing (the server withholds it), and says so.
    await page.goto(`${e.url}/patients/${kavya.url.split('/').pop()}/conditions`);
    await page.getByText('No conditions are recorded that you may see.').waitFor();
    await page.goto(`${e.url}/register`);
    await page.getByRole('heading', { name: 'Not for your role' }).waitFor();
    await page.context().close();
  });

  it('shows the administrator the staff accounts, read-only', async () => {
    const page = await (await e.newContext()).newPage();
    await firstSignIn(page, 'admin.suresh', 'brass lamp by the river');
    await page.getByRole('heading', { name: 'Staff accounts' }).waitFor();
    const table = page.getByRole('table', { name: 'Staff accounts' });
    await table.getByRole('row').filter({ hasText: 'frontdesk.pooja' }).waitFor();
    expect(await table.getByRole('row').filter({ hasText: 'dr.meera' }).textContent()).toContain('authenticator app');
    await e.screenshot(page, '14-staff-accounts');
    await page.context().close();
  });
});
