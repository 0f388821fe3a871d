/**
 * What the server's errors say: every error of the API is a FHIR OperationOutcome whose issues
 * name the problem and, where there is one, the element (`expression`). The app shows the message
 * beside the field that element belongs to, and an access refusal with the rule that decided it.
 */

export interface OutcomeIssue {
  readonly severity?: string;
  readonly code?: string;
  readonly diagnostics?: string;
  readonly details?: { readonly text?: string };
  readonly expression?: readonly string[];
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly issues: readonly OutcomeIssue[],
    /** Seconds the server asked to wait (429 Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(issues.map(issueText).filter(Boolean).join('; ') || `the server answered ${status}`);
  }

  /** The access-policy rule that refused the request (`role-category`), when it says. */
  get rule(): string | undefined {
    return ruleOf(this.message);
  }

  /** Messages of the issues about one element (an exact FHIRPath or one below it). */
  about(path: string): string[] {
    return this.issues
      .filter((i) => (i.expression ?? []).some((e) => e === path || e.startsWith(`${path}.`) || e.startsWith(`${path}[`)))
      .map(issueText);
  }
}

export function issueText(i: OutcomeIssue): string {
  return i.diagnostics ?? i.details?.text ?? i.code ?? '';
}

/** The rule named by an access refusal: "access denied by rule 'care-relationship': …". */
export function ruleOf(message: string): string | undefined {
  return /access denied by rule '([^']+)'/.exec(message)?.[1];
}

/** An ApiError from a response body that should be an OperationOutcome (anything else is summarised). */
export function apiError(status: number, body: unknown, retryAfter?: number): ApiError {
  const issues = (body as { resourceType?: string; issue?: OutcomeIssue[] } | undefined)?.issue;
  if (Array.isArray(issues) && issues.length > 0) return new ApiError(status, issues, retryAfter);
  const text = typeof body === 'string' && body.trim() !== '' ? body.slice(0, 200) : `the server answered ${status}`;
  return new ApiError(status, [{ severity: 'error', code: 'exception', diagnostics: text }], retryAfter);
}

/** A message for people, for any error thrown by a request (the server's words, as a sentence). */
export function describeError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  if (err instanceof ApiError && err.status === 429 && err.retryAfter) return `${sentence} (try again in ${err.retryAfter} s)`;
  return sentence;
}
