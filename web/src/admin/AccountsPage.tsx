/** The hospital's staff accounts, read-only (changes: the `sushruta users` command or /admin/users). */
import type { Account } from '../auth/api.js';
import { roleLabel } from '../app/roles.js';
import { formatIstDateTime } from '../../../src/hospital/registration/rules.js';
import { useFhir } from '../patients/useFhir.js';
import { Problem } from '../ui/Problem.js';

export function AccountsPage() {
  const accounts = useFhir<Account[]>('/admin/users');
  return (
    <div className="page">
      <div className="page-head">
        <h1>Staff accounts</h1>
        <p className="muted">
          Read-only here. Accounts are created and changed with the <code>sushruta users</code> command (docs/OPERATIONS.md).
        </p>
      </div>
      {accounts.state === 'loading' ? <p className="muted">Loading…</p> : null}
      {accounts.state === 'failed' ? <Problem error={accounts.error} /> : null}
      {accounts.state === 'ok' ? (
        <table className="table" aria-label="Staff accounts">
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Name</th>
              <th scope="col">Roles</th>
              <th scope="col">Departments</th>
              <th scope="col">Status</th>
              <th scope="col">Second factor</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {accounts.value.map((a) => (
              <tr key={a.id}>
                <td className="mono">{a.username}</td>
                <td>{a.displayName}</td>
                <td>{a.roles.map(roleLabel).join(', ')}</td>
                <td>{a.departments.join(', ')}</td>
                <td>{a.status}</td>
                <td>
                  {a.totpEnrolled ? 'authenticator app' : 'not enrolled yet'}
                  {a.webauthnCredentials > 0 ? `, ${a.webauthnCredentials} passkey(s)` : ''}
                </td>
                <td>{formatIstDateTime(a.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
