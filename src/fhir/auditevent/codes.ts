/**
 * The vocabulary of Sushruta's AuditEvents: what each action the log records means in IHE BALP
 * (Basic Audit Log Patterns) terms, and the reverse — which actions a search for a BALP code
 * means. One table, so the mapping and the search parameters cannot disagree.
 */
import type { Coding } from '@medplum/fhirtypes';

export const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
export const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
export const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';
export const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
export const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
export const RESOURCE_TYPES = 'http://hl7.org/fhir/resource-types';
export const OUTCOME = 'http://terminology.hl7.org/CodeSystem/audit-event-outcome';
export const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
export const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
export const BALP_ENTITY_TYPE = 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType';
export const BALP_PROFILE = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.';
export const URI = 'urn:ietf:rfc:3986';
/** Sushruta's own codes: administrative actions (key management, audit administration). */
export const SUSHRUTA_ACTION = 'https://sushruta.example.in/fhir/CodeSystem/audit-action';
/** Who acted, as the log names them: `kind:id` (AuditEvent.agent.who.identifier). */
export const AGENT_SYSTEM = 'https://sushruta.example.in/fhir/sid/audit-agent';
/** The canonical of each operation the server offers, by its `$name`. */
export const OPERATIONS: Readonly<Record<string, string>> = {
  '$access-report': 'https://sushruta.example.in/fhir/OperationDefinition/Patient-access-report',
};

/** AuditEvent.action (AuditEventAction, required binding). */
export type BalpAction = 'C' | 'R' | 'U' | 'D' | 'E';
/** The BALP profile family an interaction follows when it succeeded. */
export type BalpFamily = 'Read' | 'Query' | 'Create' | 'Update' | 'Delete';

export interface ActionMeaning {
  readonly type: Coding;
  readonly subtype: readonly Coding[];
  readonly action: BalpAction;
  readonly family?: BalpFamily;
  /** Data flowed from the server to the client (a read), which BALP expresses by swapping source and destination. */
  readonly toClient: boolean;
}

const REST: Coding = { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'Restful Operation' };
const APPLICATION_ACTIVITY: Coding = { system: DICOM, code: '110100', display: 'Application Activity' };

/** FHIR interactions the log records, with their BALP action and profile family. */
const REST_ACTIONS: Readonly<Record<string, { action: BalpAction; family?: BalpFamily; toClient: boolean }>> = {
  read: { action: 'R', family: 'Read', toClient: true },
  vread: { action: 'R', family: 'Read', toClient: true },
  'history-instance': { action: 'R', toClient: true },
  capabilities: { action: 'R', toClient: true },
  create: { action: 'C', family: 'Create', toClient: false },
  update: { action: 'U', family: 'Update', toClient: false },
  patch: { action: 'U', family: 'Update', toClient: false },
  delete: { action: 'D', family: 'Delete', toClient: false },
  'search-type': { action: 'E', family: 'Query', toClient: false },
  'history-type': { action: 'E', toClient: false },
  'history-system': { action: 'E', toClient: false },
  batch: { action: 'E', toClient: false },
  transaction: { action: 'E', toClient: false },
};

/** Administrative actions: not FHIR interactions, so DICOM "Application Activity" with Sushruta's subtype. */
const ADMIN_ACTIONS: ReadonlySet<string> = new Set(['admin-keys', 'admin-audit']);

/** What an action recorded in the log means as an AuditEvent. */
export function meaningOf(action: string): ActionMeaning {
  const rest = REST_ACTIONS[action];
  if (rest) return { type: REST, subtype: [{ system: RESTFUL_INTERACTION, code: action }], ...rest };
  if (action.startsWith('$')) {
    const canonical = OPERATIONS[action];
    return {
      type: REST,
      subtype: [
        { system: RESTFUL_INTERACTION, code: 'operation' },
        ...(canonical ? [{ system: URI, code: canonical, display: action }] : []),
      ],
      action: 'E',
      toClient: true,
    };
  }
  // Administrative actions, and any action a later version records that this one does not know.
  return {
    type: ADMIN_ACTIONS.has(action) ? APPLICATION_ACTIVITY : { system: SUSHRUTA_ACTION, code: action },
    subtype: [{ system: SUSHRUTA_ACTION, code: action }],
    action: 'E',
    toClient: false,
  };
}

/** Every action this version records, for turning a searched code into the actions it means. */
export function knownActions(): string[] {
  return [...Object.keys(REST_ACTIONS), ...Object.keys(OPERATIONS), ...ADMIN_ACTIONS];
}

/** Actions whose AuditEvent.action is `code`. */
export function actionsWithBalpAction(code: BalpAction): string[] {
  return knownActions().filter((a) => meaningOf(a).action === code);
}

/** Actions whose AuditEvent.subtype or .type holds `code` (in `system`, when one is given). */
export function actionsWithCoding(field: 'type' | 'subtype', system: string | undefined, code: string): string[] {
  const matches = (c: Coding) => c.code === code && (system === undefined || c.system === system);
  return knownActions().filter((a) => {
    const m = meaningOf(a);
    return field === 'type' ? matches(m.type) : m.subtype.some(matches);
  });
}

/**
 * AuditEvent.outcome from the HTTP status: 0 success, 4 minor failure (the request was refused
 * or wrong: 4xx), 8 serious failure (5xx), 12 major failure (503: the service was unavailable).
 */
export function outcomeCode(status: number): '0' | '4' | '8' | '12' {
  if (status < 400) return '0';
  if (status < 500) return '4';
  return status === 503 ? '12' : '8';
}

/** The statuses an outcome code stands for (the inverse of `outcomeCode`). */
export function statusesOf(code: string): readonly { from: number; to: number }[] | undefined {
  switch (code) {
    case '0':
      return [{ from: 0, to: 399 }];
    case '4':
      return [{ from: 400, to: 499 }];
    case '8':
      return [
        { from: 500, to: 502 },
        { from: 504, to: 599 },
      ];
    case '12':
      return [{ from: 503, to: 503 }];
    default:
      return undefined;
  }
}
