/**
 * The demo hospital's staff accounts: one per role (issue 5, item 6), linked to the demo
 * Practitioners and departments where the role is clinical. Data only: the CLI creates them
 * through the identity service, which gives each a random initial password printed once; at first
 * sign-in each person chooses a password and enrols an authenticator app.
 */
import type { StaffRole } from '../../fhir/context.js';

export interface DemoAccount {
  readonly username: string;
  readonly displayName: string;
  readonly roles: readonly StaffRole[];
  /** Department Organization ids. */
  readonly departments: readonly string[];
  readonly practitionerId?: string;
  readonly practitionerRoleIds?: readonly string[];
}

export const DEMO_ACCOUNTS: readonly DemoAccount[] = [
  { username: 'frontdesk.pooja', displayName: 'Pooja Sharma', roles: ['front-desk'], departments: ['dept-general-medicine'] },
  { username: 'nurse.lakshmi', displayName: 'Sister Lakshmi Pillai', roles: ['nurse'], departments: ['dept-general-medicine'] },
  {
    username: 'dr.anjali.mehta',
    displayName: 'Dr Anjali Mehta',
    roles: ['doctor'],
    departments: ['dept-general-medicine'],
    practitionerId: 'dr-anjali-mehta',
    practitionerRoleIds: ['role-dr-anjali-mehta'],
  },
  { username: 'lab.arvind', displayName: 'Arvind Kumar', roles: ['lab-technician'], departments: ['dept-pathology'] },
  { username: 'pharmacy.salma', displayName: 'Salma Khan', roles: ['pharmacist'], departments: [] },
  { username: 'billing.rohit', displayName: 'Rohit Verma', roles: ['billing-clerk'], departments: [] },
  { username: 'ward.gurpreet', displayName: 'Gurpreet Kaur', roles: ['ward-manager'], departments: ['dept-general-medicine'] },
  { username: 'admin.suresh', displayName: 'Suresh Nair', roles: ['hospital-admin'], departments: [] },
  { username: 'security.farah', displayName: 'Farah Siddiqui', roles: ['security-officer'], departments: [] },
  { username: 'audit.meenakshi', displayName: 'Meenakshi Sundaram', roles: ['auditor'], departments: [] },
  { username: 'integration.ops', displayName: 'Integration operations', roles: ['integration'], departments: [] },
];
