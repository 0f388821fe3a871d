/**
 * /metadata: a CapabilityStatement generated from the same definitions the server runs on, so
 * it cannot claim a search parameter the search engine does not know.
 */
import { getSearchParameters } from '@medplum/core';
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { auditEventCapability, patientOperations } from '../auditevent/capability.js';
import { ensureDefinitionsLoaded } from '../search/definitions.js';
import { R4_RESOURCE_TYPES } from '../validation/resource-types.js';
import type { Limits } from './deps.js';

export const SOFTWARE_VERSION = '0.1.0';
/** Search parameter types the search engine implements; composite and special are not. */
const SUPPORTED_PARAM_TYPES = new Set(['string', 'token', 'reference', 'date', 'number', 'quantity', 'uri']);

let cached: { key: string; statement: CapabilityStatement } | undefined;

export function capabilityStatement(baseUrl: string, limits: Limits): CapabilityStatement {
  const key = `${baseUrl}|${limits.maxCount}|${limits.bundleEntries}`;
  if (cached?.key === key) return cached.statement;
  ensureDefinitionsLoaded();
  const resource: CapabilityStatementRestResource[] = [...R4_RESOURCE_TYPES].sort().map((type) => {
    // AuditEvent is the audit log, read-only, with its own search parameters.
    if (type === 'AuditEvent') return auditEventCapability();
    const params = Object.values(getSearchParameters(type) ?? {}).filter((p) => SUPPORTED_PARAM_TYPES.has(p.type ?? ''));
    const refs = params.filter((p) => p.type === 'reference');
    return {
      type: type as CapabilityStatementRestResource['type'],
      profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
      interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'].map(
        (code) => ({
          code: code as 'read',
        }),
      ),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      conditionalRead: 'not-supported',
      conditionalUpdate: false,
      conditionalDelete: 'not-supported',
      referencePolicy: ['literal', 'local'],
      searchInclude: refs.map((p) => `${type}:${p.code}`),
      searchRevInclude: [],
      searchParam: [
        { name: '_id', type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id' },
        { name: '_lastUpdated', type: 'date', definition: 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated' },
        ...params
          .filter((p) => p.code !== '_id' && p.code !== '_lastUpdated')
          .map((p) => ({ name: p.code as string, type: p.type as 'string', ...(p.url ? { definition: p.url } : {}) })),
      ],
    };
  });
  // revinclude: every reference parameter of every type that can point at this type.
  const byTarget = new Map<string, string[]>();
  for (const r of resource) {
    for (const p of Object.values(getSearchParameters(r.type) ?? {})) {
      if (p.type !== 'reference') continue;
      // AuditEvent is not in the resource store, so nothing can _revinclude it.
      if (r.type === 'AuditEvent') continue;
      for (const t of p.target ?? []) {
        const list = byTarget.get(t) ?? [];
        list.push(`${r.type}:${p.code}`);
        byTarget.set(t, list);
      }
    }
  }
  for (const r of resource) {
    if (r.type === 'AuditEvent') continue;
    r.searchRevInclude = byTarget.get(r.type) ?? [];
    if (r.type === 'Patient') r.operation = patientOperations();
  }

  const statement: CapabilityStatement = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    publisher: 'Sushruta',
    kind: 'instance',
    software: { name: 'Sushruta', version: SOFTWARE_VERSION },
    implementation: { description: 'Sushruta hospital information system FHIR R4 server', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        documentation:
          `Paging is keyset-based (_cursor links). Limits: _count <= ${limits.maxCount}, ` +
          `Bundle entries <= ${limits.bundleEntries}, query time <= ${limits.queryTimeoutMs} ms. ` +
          'Prefer: handling=lenient ignores unknown search parameters; strict (the default) answers 400.',
        security: {
          description:
            'Until staff identity is configured the server listens on the loopback interface only and every request acts as the local operator.',
        },
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
      },
    ],
  };
  cached = { key, statement };
  return statement;
}
