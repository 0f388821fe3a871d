/**
 * Every failure leaves as an OperationOutcome (invariant 5). Fastify's own errors (body too
 * large, malformed JSON, wrong media type) are translated into outcomes that name the problem;
 * anything unexpected is logged with the request id and answered with a generic 500 that
 * carries the request id but no internals.
 */
import type { FastifyError } from 'fastify';
import { FhirError, issue } from '../fhir/outcome.js';

export function toFhirError(err: unknown, limits: { bodyBytes: number }): FhirError | undefined {
  if (err instanceof FhirError) return err;
  const e = err as FastifyError & { code?: string; statusCode?: number };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new FhirError(413, [issue('too-costly', `the request body is larger than this server's limit of ${limits.bodyBytes} bytes`)]);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new FhirError(415, [
        issue('not-supported', 'unsupported Content-Type: send application/fhir+json (or application/json-patch+json for PATCH)'),
      ]);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new FhirError(400, [issue('invalid', 'the request body is empty but its Content-Type says JSON')]);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_BAD_URL':
      return new FhirError(400, [issue('invalid', `the request is malformed: ${e.message}`)]);
  }
  if (e.code === '57014') {
    return new FhirError(408, [
      issue('too-costly', 'a database statement ran past the query time limit and was cancelled; nothing was written'),
    ]);
  }
  if (err instanceof SyntaxError) return new FhirError(400, [issue('structure', `the body is not valid JSON: ${err.message}`)]);
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return new FhirError(e.statusCode, [issue('invalid', e.message)]);
  return undefined;
}

export function internalError(requestId: string): FhirError {
  return new FhirError(500, [issue('exception', `an internal error occurred; quote request id ${requestId} to the administrator`)]);
}
