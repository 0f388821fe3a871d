/**
 * What each staff role's work needs, by category of data (categories.ts), and how far it reaches:
 * `all` — every patient whose record is not restricted; `care` — only patients the account has a
 * live care relationship with (care-links.ts). Restricted (VIP) records need an explicit grant
 * whatever the reach. Separation of duties: the administrator, security officer and auditor have
 * no reach into patient records at all, and nobody changes their own roles (identity).
 *
 * This table is the policy's one source of truth; docs/SECURITY.md prints it, and the policy
 * matrix test (test/policy/matrix.test.ts) checks it through the HTTP API.
 */
import type { Interaction, StaffRole } from '../../fhir/context.js';
import type { Category } from './categories.js';

export type Reach = 'all' | 'care';

export interface RoleRule {
  /** Read, vread, search and history, by category. */
  readonly read: Partial<Record<Category, Reach>>;
  /** Create, update, patch and delete, by category. */
  readonly write: Partial<Record<Category, Reach>>;
  /** Single resource types a role may read or write beyond its categories. */
  readonly readTypes?: Readonly<Record<string, Reach>>;
  readonly writeTypes?: Readonly<Record<string, Reach>>;
  /** May open a record without a care relationship (or a restricted one), stating a reason. */
  readonly breakGlass?: boolean;
  /** Administrative interactions the role performs. */
  readonly admin?: readonly Interaction[];
  /** FHIR operations the role may invoke (by name, without `$`). */
  readonly operations?: readonly string[];
  /** Sees the sealed fields of audit records (queries, error texts, break-glass reasons). */
  readonly sealedAuditFields?: boolean;
}

export const ROLE_RULES: Readonly<Record<StaffRole, RoleRule>> = {
  'front-desk': {
    read: { demographics: 'all', visit: 'all', directory: 'all' },
    write: { demographics: 'all', visit: 'all' },
  },
  nurse: {
    read: { demographics: 'all', visit: 'care', medication: 'care', laboratory: 'care', clinical: 'care', directory: 'all' },
    write: { visit: 'care', clinical: 'care' },
    // Vital signs are Observations; the administration of a prescribed medicine is recorded by the nurse.
    writeTypes: { Observation: 'care', MedicationAdministration: 'care' },
    breakGlass: true,
    operations: ['break-glass'],
  },
  doctor: {
    read: { demographics: 'all', visit: 'care', medication: 'care', laboratory: 'care', clinical: 'care', directory: 'all' },
    write: { visit: 'care', medication: 'care', laboratory: 'care', clinical: 'care' },
    breakGlass: true,
    operations: ['break-glass'],
  },
  'lab-technician': {
    read: { demographics: 'all', laboratory: 'care', directory: 'all' },
    write: { laboratory: 'care' },
  },
  pharmacist: {
    // The hospital pharmacy dispenses for every patient; allergies are checked before dispensing.
    read: { demographics: 'all', medication: 'all', directory: 'all' },
    readTypes: { AllergyIntolerance: 'all' },
    write: {},
    writeTypes: { MedicationDispense: 'all' },
  },
  'billing-clerk': {
    read: { demographics: 'all', visit: 'all', billing: 'all', directory: 'all' },
    write: { billing: 'all' },
  },
  'ward-manager': {
    read: { demographics: 'all', visit: 'care', directory: 'all' },
    write: { visit: 'care' },
    writeTypes: { Location: 'all' },
  },
  'hospital-admin': {
    read: { directory: 'all' },
    write: { directory: 'all' },
    admin: ['admin-users'],
  },
  'security-officer': {
    read: { audit: 'all' },
    write: {},
    admin: ['admin-audit', 'admin-access'],
    operations: ['access-report'],
    sealedAuditFields: true,
  },
  auditor: {
    read: { audit: 'all' },
    write: {},
    admin: ['admin-audit'],
    operations: ['access-report'],
  },
  // Integrations act as OAuth clients with SMART scopes; an account with this role alone reaches nothing.
  integration: { read: {}, write: {} },
};

export const READS = new Set<Interaction>(['read', 'vread', 'search-type', 'history-instance', 'history-type', 'history-system']);
export const WRITES = new Set<Interaction>(['create', 'update', 'patch', 'delete']);

/** The widest reach any of `roles` has for a type and purpose, and the role that gives it. */
export function reachOf(
  roles: readonly StaffRole[],
  purpose: 'read' | 'write',
  type: string,
  category: Category,
): { reach: Reach; role: StaffRole } | undefined {
  let best: { reach: Reach; role: StaffRole } | undefined;
  for (const role of roles) {
    const rule = ROLE_RULES[role];
    const reach = (
      purpose === 'read' ? (rule.readTypes?.[type] ?? rule.read[category]) : (rule.writeTypes?.[type] ?? rule.write[category])
    ) as Reach | undefined;
    if (reach && (!best || (best.reach === 'care' && reach === 'all'))) best = { reach, role };
  }
  return best;
}
