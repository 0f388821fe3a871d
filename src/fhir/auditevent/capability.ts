/**
 * What the CapabilityStatement says about the audit log: AuditEvent with read and search only and
 * the parameters parseAuditSearch answers, and Patient's `$access-report` operation.
 */
import type { CapabilityStatementRestResource, CapabilityStatementRestResourceOperation } from '@medplum/fhirtypes';
import { BALP_PROFILE, OPERATIONS } from './codes.js';

type SearchParam = NonNullable<CapabilityStatementRestResource['searchParam']>[number];

const R4_PARAM = 'http://hl7.org/fhir/SearchParameter/';

const PARAMS: readonly SearchParam[] = [
  { name: '_id', type: 'token', definition: `${R4_PARAM}Resource-id`, documentation: 'the log position (seq)' },
  {
    name: 'patient',
    type: 'reference',
    definition: `${R4_PARAM}AuditEvent-patient`,
    documentation:
      'records naming this patient: reads, writes, searches that returned their data (_include too), refused and failed attempts',
  },
  {
    name: 'agent',
    type: 'reference',
    definition: `${R4_PARAM}AuditEvent-agent`,
    documentation:
      'who acted, as kind:id (agent=system:import) or agent:identifier=https://sushruta.example.in/fhir/sid/audit-agent|kind:id',
  },
  {
    name: 'date',
    type: 'date',
    definition: `${R4_PARAM}AuditEvent-date`,
    documentation: 'when the record was made; eq, ne, gt, lt, ge, le, sa, eb',
  },
  { name: 'action', type: 'token', definition: `${R4_PARAM}AuditEvent-action`, documentation: 'C, R, U, D or E' },
  { name: 'outcome', type: 'token', definition: `${R4_PARAM}AuditEvent-outcome`, documentation: '0, 4 (4xx), 8 (5xx), 12 (503)' },
  {
    name: 'subtype',
    type: 'token',
    definition: `${R4_PARAM}AuditEvent-subtype`,
    documentation: 'a restful-interaction code (read, search-type, ...)',
  },
  { name: 'type', type: 'token', definition: `${R4_PARAM}AuditEvent-type`, documentation: 'rest, or DICOM 110100 for administration' },
  {
    name: 'entity',
    type: 'reference',
    definition: `${R4_PARAM}AuditEvent-entity`,
    documentation: 'the resource an interaction addressed (Type/id); for a Patient, also every record naming them',
  },
];

export function auditEventCapability(): CapabilityStatementRestResource {
  return {
    type: 'AuditEvent',
    profile: 'http://hl7.org/fhir/StructureDefinition/AuditEvent',
    supportedProfile: [
      'Read',
      'PatientRead',
      'Query',
      'PatientQuery',
      'Create',
      'PatientCreate',
      'Update',
      'PatientUpdate',
      'Delete',
      'PatientDelete',
    ].map((p) => `${BALP_PROFILE}${p}`),
    documentation:
      'The tamper-evident audit log, read as IHE BALP AuditEvents. Append-only: create, update, patch and delete answer 405. Sorted by recorded time, then log position (_sort=date or -date, newest first by default); keyset paging.',
    interaction: [{ code: 'read' }, { code: 'search-type' }],
    versioning: 'no-version',
    readHistory: false,
    updateCreate: false,
    conditionalCreate: false,
    conditionalRead: 'not-supported',
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    searchInclude: ['AuditEvent:patient'],
    searchRevInclude: [],
    searchParam: [...PARAMS],
  };
}

export function patientOperations(): CapabilityStatementRestResourceOperation[] {
  return [
    {
      name: 'access-report',
      definition: OPERATIONS['$access-report'] as string,
      documentation:
        "Who opened this patient's record, when, from where, why and with what outcome: every access (reads, searches that returned their data, writes, refusals), newest first, as AuditEvents in a searchset Bundle. Parameters: date (with prefixes), _since, _count.",
    },
  ];
}
