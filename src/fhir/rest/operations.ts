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
const OFFERED: Readonly<Record<string, string>> = { 'access-report': 'Patient/{id}', 'break-glass': 'Patient/{id}' };

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
  if (r.name === 'break-glass' && r.type === 'Patient' && r.id) return breakGlass(d, ctx, r.id, req, params);
  checkOperation(r);
  throw new FhirError(404, [issue('not-supported', `the operation $${r.name} is not supported here`)]);
}

/**
 * `POST Patient/[id]/$break-glass` with a Parameters `reason`: opens this patient's record to the
 * calling clinician for a limited time (security/policy/grants.ts). Answers the grant's id and end.
 */
async function breakGlass(
  d: FhirDeps,
  ctx: RequestContext,
  id: string,
  req: FhirRequest,
  params: ReadonlyArray<readonly [string, string]>,
): Promise<FhirResponse> {
  if (req.method.toUpperCase() !== 'POST') throw new FhirError(405, [issue('not-supported', '$break-glass changes access: use POST')]);
  if (!d.breakGlass) throw new FhirError(404, [issue('not-supported', 'break-glass is not available on this server')]);
  const unknown = params.find(([k]) => k !== 'reason');
  if (unknown) throw badRequest(`$break-glass takes only 'reason', not '${unknown[0]}'`, unknown[0]);
  const patient = await d.store.current(d.db, 'Patient', id);
  if (!patient || patient.deleted) throw new FhirError(404, [issue('not-found', `Patient/${id} does not exist`)]);
  const grant = await d.breakGlass.open(ctx, id, params.find(([k]) => k === 'reason')?.[1] ?? '');
  const body: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'grant', valueString: grant.id },
      { name: 'patient', valueReference: { reference: `Patient/${id}` } },
      { name: 'expires', valueInstant: grant.expiresAt },
    ],
  };
  return { status: 200, headers: {}, body, touched: [`Patient/${id}`], patients: [id] };
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
