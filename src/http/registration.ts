/**
 * Hospital workflows over HTTP, at /hospital (JSON in, FHIR JSON out; errors are OperationOutcomes):
 *
 *   POST /hospital/registration   a Patient without a UHID -> 201 the Patient as created, with its
 *                                 UHID; Location names it under /fhir
 *
 * The route only translates: the workflow (hospital/registration) works through the FHIR
 * operation layer as the signed-in user, so authorization and audit are those of any FHIR create.
 * Authentication and the CSRF check are the app's (authenticate.ts): /hospital is an API path.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestContext } from '../fhir/context.js';
import type { PatientRegistration } from '../hospital/registration/register.js';

export interface RegistrationRouteOptions {
  readonly registration: PatientRegistration;
  readonly context: (req: FastifyRequest) => RequestContext;
}

export function registerRegistrationRoutes(app: FastifyInstance, o: RegistrationRouteOptions): void {
  app.post('/hospital/registration', async (req, reply) => {
    const ctx = o.context(req);
    const out = await o.registration.register(ctx, req.body);
    for (const [k, v] of Object.entries(out.headers)) reply.header(k, v);
    return reply.code(201).type('application/fhir+json; charset=utf-8').send(JSON.stringify(out.patient));
  });
}
