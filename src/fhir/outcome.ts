/**
 * Errors that leave the server as a FHIR OperationOutcome (invariant 5). Anything thrown inside
 * the operation layer that is not a `FhirError` becomes a generic 500 outcome with no detail;
 * every expected failure is a `FhirError` that names the problem and, where there is one, the
 * FHIRPath of the offending element.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export type IssueCode = OperationOutcomeIssue['code'];

export class FhirError extends Error {
  readonly status: number;
  readonly issues: OperationOutcomeIssue[];
  readonly headers: Record<string, string>;
  constructor(status: number, issues: OperationOutcomeIssue[] | string, code: IssueCode = 'invalid', headers: Record<string, string> = {}) {
    const list = typeof issues === 'string' ? [issue(code, issues)] : issues;
    super(list.map((i) => i.diagnostics ?? i.details?.text ?? i.code).join('; '));
    this.name = 'FhirError';
    this.status = status;
    this.issues = list;
    this.headers = headers;
  }
  get outcome(): OperationOutcome {
    return { resourceType: 'OperationOutcome', issue: this.issues };
  }
}

export function issue(
  code: IssueCode,
  diagnostics: string,
  expression?: string,
  severity: OperationOutcomeIssue['severity'] = 'error',
): OperationOutcomeIssue {
  const i: OperationOutcomeIssue = { severity, code, diagnostics, details: { text: diagnostics } };
  if (expression) i.expression = [expression];
  return i;
}

export const badRequest = (msg: string, expression?: string) => new FhirError(400, [issue('invalid', msg, expression)]);
export const notFound = (msg: string) => new FhirError(404, [issue('not-found', msg)]);
export const gone = (msg: string) => new FhirError(410, [issue('deleted', msg)]);
export const conflict = (msg: string) => new FhirError(409, [issue('conflict', msg)]);
export const preconditionFailed = (msg: string) => new FhirError(412, [issue('conflict', msg)]);
export const notSupported = (msg: string, expression?: string) => new FhirError(400, [issue('not-supported', msg, expression)]);
export const tooCostly = (status: number, msg: string) => new FhirError(status, [issue('too-costly', msg)]);

export function informational(msg: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [issue('informational', msg, undefined, 'information')] };
}
