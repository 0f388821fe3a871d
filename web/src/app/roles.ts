/**
 * Which screens a signed-in person is offered, by role. This is navigation only: the server's
 * access policy decides every request, and a screen reached by its address shows the server's
 * refusal (with its rule) like any other answer.
 */

export type Screen = 'registration' | 'patients' | 'accounts';

/** Roles that look patients up (demographics) for their own work, without registering them. */
const LOOKUP_ROLES = new Set(['doctor', 'nurse', 'lab-technician', 'pharmacist', 'billing-clerk', 'ward-manager']);

/** Roles that may read clinical data of the patients in their care. */
const CLINICAL_ROLES = new Set(['doctor', 'nurse']);

export function screensFor(roles: readonly string[]): Screen[] {
  const out: Screen[] = [];
  if (roles.includes('front-desk')) out.push('registration');
  else if (roles.some((r) => LOOKUP_ROLES.has(r))) out.push('patients');
  if (roles.includes('hospital-admin')) out.push('accounts');
  return out;
}

export function isClinical(roles: readonly string[]): boolean {
  return roles.some((r) => CLINICAL_ROLES.has(r));
}

export const SCREEN_PATH: Record<Screen, string> = {
  registration: '/register',
  patients: '/patients',
  accounts: '/accounts',
};

export const SCREEN_LABEL: Record<Screen, string> = {
  registration: 'Registration',
  patients: 'Patients',
  accounts: 'Staff accounts',
};

const ROLE_LABEL: Record<string, string> = {
  'front-desk': 'Front desk',
  nurse: 'Nurse',
  doctor: 'Doctor',
  'lab-technician': 'Lab technician',
  pharmacist: 'Pharmacist',
  'billing-clerk': 'Billing clerk',
  'ward-manager': 'Ward manager',
  'hospital-admin': 'Hospital administrator',
  'security-officer': 'Security officer',
  auditor: 'Auditor',
  integration: 'Integration',
};

export function roleLabel(role: string): string {
  return ROLE_LABEL[role] ?? role;
}
