/**
 * FHIR operations (`$name`): which ones this server offers and where. An operation is routed,
 * authorized (interaction `operation` with its name) and audited like every other interaction.
 */
import type { Parameters } from '@medplum/fhirtypes';
import { accessReport } from '../auditevent/rest.js';
import type { RequestContext } from '../context.js';
import { badRequest, FhirError, issue } from '../outcome.js';
import type { FhirDeps } from './deps.js';
import type { FhirRequest, FhirResponse, Route } from './request.js';

type OperationRoute = Extract<Route, { kind: 'operation' }>;

/** Where each operation may be invoked: `Type/{id}` for an instance operation. */
const OFFERED: Readonly<Record<string, string>> = { 'access-report': 'Patient/{id}' };

/** A 404 naming what is offered, for an operation this server does not have (before any authorization). */
export function checkOperation(r: OperationRoute): void {
  const at = r.type ? (r.id ? `${r.type}/{id}` : r.type) : '';
  if (OFFERED[r.name] === at) return;
  const offered = Object.entries(OFFERED)
    .map(([name, where]) => `${where}/$${name}`)
    .join(', ');
  throw new FhirError(404, [
    issue('not-supported', `the operation $${r.name} is not supported${at ? ` on ${at}` : ''}; this server offers ${offered}`),
  ]);
}

export async function runOperation(d: FhirDeps, ctx: RequestContext, r: OperationRoute, req: FhirRequest): Promise<FhirResponse> {
  const params = req.method.toUpperCase() === 'POST' ? [...req.query, ...parametersOf(req.body)] : req.query;
  if (r.name === 'access-report' && r.type === 'Patient' && r.id) return accessReport(d, ctx, r.id, params);
  checkOperation(r);
  throw new FhirError(404, [issue('not-supported', `the operation $${r.name} is not supported here`)]);
}

/** A POSTed `Parameters` resource as name/value pairs (the primitive values operations here take). */
function parametersOf(body: unknown): Array<[string, string]> {
  if (body === undefined || body === null || body === '') return [];
  const p = body as Partial<Parameters>;
  if (typeof body !== 'object' || p.resourceType !== 'Parameters')
    throw badRequest('the body of an operation must be a Parameters resource');
  return (p.parameter ?? []).map((x, i) => {
    const v = x.valueString ?? x.valueDate ?? x.valueDateTime ?? x.valueInstant ?? x.valueCode ?? x.valueInteger ?? x.valuePositiveInt;
    if (!x.name || v === undefined)
      throw badRequest(`Parameters.parameter[${i}] needs a name and a primitive value`, `Parameters.parameter[${i}]`);
    return [x.name, String(v)];
  });
}
