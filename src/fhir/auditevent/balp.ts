/**
 * One audit record as an R4 AuditEvent following IHE BALP (Basic Audit Log Patterns). The record
 * in the log is the truth; this is a view of it, made on every read and never stored, so a
 * better mapping changes nothing that is hashed. docs/ARCHITECTURE.md has the field-by-field table.
 *
 * BALP profiles describe successful interactions, so `meta.profile` names one only when the
 * AuditEvent really conforms: the interaction succeeded, the entities the profile requires are
 * present (a data entity for read/create/update/delete, the base64 query for a search) and the
 * Patient variant only when exactly one patient is named.
 */
import { isIP } from 'node:net';
import type { AuditEvent, AuditEventAgent, AuditEventEntity, CodeableConcept, Coding, Meta } from '@medplum/fhirtypes';
import type { AuditRecordView, Disclosed } from '../audit-reader.js';
import {
  AGENT_SYSTEM,
  BALP_ENTITY_TYPE,
  BALP_PROFILE,
  type BalpFamily,
  DICOM,
  ENTITY_TYPE,
  meaningOf,
  OBJECT_ROLE,
  outcomeCode,
  PARTICIPATION,
  RESOURCE_TYPES,
  SOURCE_TYPE,
  URI,
} from './codes.js';
import { narrative } from './narrative.js';

export interface MappingContext {
  /** This server's FHIR base URL: the observer and the server agent. */
  readonly baseUrl: string;
  /** The hospital (tenant): AuditEvent.source.site. */
  readonly site: string;
  /**
   * In a patient's access report: name only this patient and the resource the interaction
   * addressed, not the other patients and resources a search returned with theirs.
   */
  readonly focusPatient?: string;
}

const REDACTED: Coding = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'REDACTED', display: 'redacted' };
const RESTRICTED: Coding = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R', display: 'restricted' };
const V3_ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

const entityType = (code: '1' | '2', display: string): Coding => ({ system: ENTITY_TYPE, code, display });
const objectRole = (code: '1' | '4' | '24', display: string): Coding => ({ system: OBJECT_ROLE, code, display });

export function toAuditEvent(record: AuditRecordView, m: MappingContext): AuditEvent {
  // The query stays byte-exact (BALP keeps hostile patterns too, and it goes out as base64).
  const v: AuditRecordView = { ...fhirStrings(record), query: record.query };
  const meaning = meaningOf(v.action);
  const outcome = outcomeCode(v.outcome.status);
  const patients = m.focusPatient ? v.patients.filter((p) => p === m.focusPatient) : [...v.patients];
  const target = addressed(v);

  const entity: AuditEventEntity[] = [
    { what: { identifier: { value: v.request } }, type: { system: BALP_ENTITY_TYPE, code: 'XrequestId' } },
  ];
  if (target)
    entity.push({ what: { reference: target }, type: entityType('2', 'System Object'), role: objectRole('4', 'Domain Resource') });
  for (const p of patients) {
    entity.push({ what: { reference: `Patient/${p}` }, type: entityType('1', 'Person'), role: objectRole('1', 'Patient') });
  }
  if (v.query) entity.push(queryEntity(v.query));
  if (!m.focusPatient) {
    // What a search or history returned, typed by resource type (not "System Object", which
    // BALP's Query profile reserves for the query itself).
    const targetId = target?.replace(/\/_history\/.*$/, '');
    for (const r of v.resources) {
      if (r === targetId) continue;
      entity.push({
        what: { reference: r },
        type: { system: RESOURCE_TYPES, code: r.split('/')[0] ?? r },
        role: objectRole('4', 'Domain Resource'),
      });
    }
  }

  const hidden = [v.query, v.outcome.reason, v.why.breakGlass].some((d) => d !== null && 'hidden' in d);
  const profile = claimedProfile(meaning.family, outcome, target !== undefined, v.query, patients.length);
  const meta: Meta = {
    versionId: '1',
    lastUpdated: v.time,
    ...(profile ? { profile: [profile] } : {}),
    ...(hidden || patients.length > 0 ? { security: [...(patients.length > 0 ? [RESTRICTED] : []), ...(hidden ? [REDACTED] : [])] } : {}),
  };
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    id: String(v.seq),
    meta,
    type: meaning.type,
    subtype: [...meaning.subtype],
    action: meaning.action,
    recorded: v.time,
    outcome,
    outcomeDesc: outcomeDescription(v),
    agent: agents(v, meaning.toClient, meaning.action === 'R' || meaning.action === 'E', m.baseUrl),
    source: {
      site: m.site,
      observer: { identifier: { system: URI, value: m.baseUrl }, display: 'Sushruta FHIR server' },
      type: [{ system: SOURCE_TYPE, code: '4', display: 'Application Server' }],
    },
    entity,
  };
  event.text = { status: 'generated', div: narrative(v, meaning, target, patients) };
  return event;
}

/**
 * Every string of the record as a valid FHIR string: a user agent or an error text may hold
 * control characters, which R4 strings may not, and an empty string is no FHIR value at all.
 */
function fhirStrings<T>(value: T): T {
  if (typeof value === 'string') {
    let out = '';
    for (const ch of value) {
      const c = ch.codePointAt(0) ?? 0;
      out += (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f ? '\ufffd' : ch;
    }
    return (out === '' ? '(empty)' : out) as T;
  }
  if (Array.isArray(value)) return value.map((x) => fhirStrings(x)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, fhirStrings(x)])) as T;
  }
  return value;
}

/** The resource the interaction addressed, version-specific when the record knows the version. */
function addressed(v: AuditRecordView): string | undefined {
  let base: string | undefined;
  if (v.type && v.id) base = `${v.type}/${v.id}`;
  // A create addresses no id in its URL; the record lists the one resource it wrote.
  else if (v.action === 'create' && v.resources.length === 1) base = v.resources[0];
  if (!base) return undefined;
  return v.version ? `${base}/_history/${v.version}` : base;
}

function queryEntity(q: Disclosed): AuditEventEntity {
  const common: AuditEventEntity = { type: entityType('2', 'System Object'), role: objectRole('24', 'Query') };
  // BALP: the raw request, base64, so that exactly what was asked (hostile patterns too) survives.
  if ('shown' in q) return { ...common, query: Buffer.from(q.shown, 'utf8').toString('base64') };
  return { ...common, description: `the query is sealed and not shown: ${q.hidden}` };
}

function claimedProfile(
  family: BalpFamily | undefined,
  outcome: string,
  hasTarget: boolean,
  query: Disclosed | null,
  patientCount: number,
): string | undefined {
  if (!family || outcome !== '0') return undefined;
  if (family === 'Query' ? !(query && 'shown' in query) : !hasTarget) return undefined;
  return `${BALP_PROFILE}${patientCount === 1 ? `Patient${family}` : family}`;
}

function agents(v: AuditRecordView, toClient: boolean, recipient: boolean, baseUrl: string): AuditEventAgent[] {
  const { who, where } = v;
  const purpose = purposeOfUse(v);
  const user: AuditEventAgent = {
    // BALP: the user receives information on a read or query, and authors a create, update or delete.
    type: {
      coding: [
        recipient
          ? { system: PARTICIPATION, code: 'IRCP', display: 'information recipient' }
          : { system: PARTICIPATION, code: 'AUT', display: 'author' },
      ],
    },
    who: { identifier: { system: AGENT_SYSTEM, value: `${who.kind}:${who.id}` }, display: who.id },
    name: who.id,
    requestor: true,
    ...(who.role ? { role: [{ text: who.role }] } : {}),
    ...(who.session ? { policy: [sessionUri(who.session)] } : {}),
    ...(purpose ? { purposeOfUse: [purpose] } : {}),
  };
  // DICOM/IHE: the side the data flows from is the Source Role ID, the other the Destination.
  const sourceRole: Coding = { system: DICOM, code: '110153', display: 'Source Role ID' };
  const destinationRole: Coding = { system: DICOM, code: '110152', display: 'Destination Role ID' };
  const clientWho: NonNullable<AuditEventAgent['who']> = who.client
    ? { identifier: { value: who.client }, display: where.agent ?? who.client }
    : { display: where.agent ?? 'unidentified client' };
  const client: AuditEventAgent = {
    type: { coding: [toClient ? destinationRole : sourceRole] },
    who: clientWho,
    requestor: false,
    network: { address: where.client, type: networkType(where.client) },
  };
  const server: AuditEventAgent = {
    type: { coding: [toClient ? sourceRole : destinationRole] },
    who: { identifier: { system: URI, value: baseUrl }, display: 'Sushruta FHIR server' },
    requestor: false,
    network: { address: baseUrl, type: '5' },
  };
  const out = [user, client, server];
  if (where.forwarded.length > 0 || where.peer !== where.client) {
    // The request came through proxies: the peer that connected, and the chain as received.
    out.push({
      type: { text: 'proxy (the TCP peer)' },
      who: { display: where.forwarded.length > 0 ? `forwarded for: ${where.forwarded.join(', ')}` : 'proxy' },
      requestor: false,
      network: { address: where.peer, type: networkType(where.peer) },
    });
  }
  return out;
}

/** AuditEvent.agent.network.type: 2 IP address, else 1 machine name. */
function networkType(address: string): '1' | '2' {
  return isIP(address) !== 0 ? '2' : '1';
}

function sessionUri(session: string): string {
  return /^[a-z][a-z0-9+.-]*:\S+$/i.test(session) ? session : `urn:sushruta:session:${encodeURIComponent(session)}`;
}

/** The purpose of use, with the break-glass reason (decrypted, when the caller may see it) as its text. */
function purposeOfUse(v: AuditRecordView): CodeableConcept | undefined {
  const { purpose, breakGlass } = v.why;
  if (!purpose && !breakGlass) return undefined;
  const concept: CodeableConcept = {};
  // Purposes are v3 ActReason codes (TREAT, ETREAT for break-glass, HOPERAT...); anything else stays text.
  if (purpose && /^[A-Z]{2,}$/.test(purpose)) concept.coding = [{ system: V3_ACT_REASON, code: purpose }];
  const reason = breakGlass
    ? 'shown' in breakGlass
      ? `break-glass: ${breakGlass.shown}`
      : `break-glass (reason sealed: ${breakGlass.hidden})`
    : undefined;
  const text = [concept.coding ? undefined : purpose, reason].filter(Boolean).join('; ');
  if (text) concept.text = text;
  return concept;
}

/** HTTP status, the policy rule that decided, and the error text when the caller may see it. */
function outcomeDescription(v: AuditRecordView): string {
  const { status, rule, reason } = v.outcome;
  const parts = [`HTTP ${status}`];
  if (rule) parts.push(`${status === 403 ? 'refused' : 'allowed'} by rule '${rule}'`);
  if (reason) parts.push('shown' in reason ? reason.shown : `reason sealed: ${reason.hidden}`);
  return parts.join('; ');
}
