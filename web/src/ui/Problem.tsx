/** How the app shows a failed request: the server's own words, and for a refusal the rule that decided it. */
import { ApiError, describeError } from '../api/outcome.js';

export function Problem({ error, title }: { readonly error: unknown; readonly title?: string }) {
  if (error instanceof ApiError && error.status === 403) {
    return (
      <section className="panel refused" aria-labelledby="refused-title">
        <h2 id="refused-title">Access refused</h2>
        <p>The server refused this request for your account. Nothing was shown or changed.</p>
        {error.rule ? (
          <p className="rule">
            Rule: <code data-testid="refusal-rule">{error.rule}</code>
          </p>
        ) : null}
        <p className="server-says">{error.message}</p>
      </section>
    );
  }
  return (
    <div className="banner banner-error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      {describeError(error)}
    </div>
  );
}
