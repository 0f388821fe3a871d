/**
 * The human-readable side of an AuditEvent (its XHTML narrative): when, who, what, from where,
 * why and with what outcome, in words a patient or an auditor reads without knowing BALP codes.
 * It is what the patient access report shows in any FHIR viewer.
 */
import type { AuditRecordView, Disclosed } from '../audit-reader.js';
import type { ActionMeaning } from './codes.js';

const VERBS: Readonly<Record<string, string>> = {
  read: 'read',
  vread: 'read a version of',
  'history-instance': 'read the history of',
  'history-type': 'read the history of',
  'history-system': 'read the history of everything',
  capabilities: 'read the capability statement',
  create: 'created',
  update: 'updated',
  patch: 'patched',
  delete: 'deleted',
  'search-type': 'searched',
  batch: 'sent a batch',
  transaction: 'sent a transaction',
};

export function narrative(v: AuditRecordView, meaning: ActionMeaning, target: string | undefined, patients: readonly string[]): string {
  const verb = VERBS[v.action] ?? (v.action.startsWith('$') ? `ran ${v.action} on` : `ran ${v.action}`);
  const object = target ?? v.type ?? '';
  const who = `${v.who.id} (${v.who.kind}${v.who.role ? `, role ${v.who.role}` : ''})`;
  const from =
    v.where.forwarded.length > 0 || v.where.peer !== v.where.client
      ? `${v.where.client}, through ${[...v.where.forwarded, v.where.peer].join(' → ')}`
      : v.where.client;
  const why = [v.why.purpose, v.why.breakGlass ? `break-glass: ${disclosed(v.why.breakGlass)}` : undefined].filter(Boolean).join('; ');
  const outcome = `HTTP ${v.outcome.status}${v.outcome.status === 403 ? ' — access denied' : v.outcome.status >= 400 ? ' — failed' : ''}${
    v.outcome.reason ? `: ${disclosed(v.outcome.reason)}` : ''
  }`;
  const rows: [string, string][] = [
    ['When', v.time],
    ['Who', who],
    ['What', `${verb} ${object}`.trim() + (v.resourceCount > 1 ? ` (${v.resourceCount} resources returned)` : '')],
    ...(patients.length > 0 ? [['Patients', patients.map((p) => `Patient/${p}`).join(', ')] as [string, string]] : []),
    ['From', from + (v.where.agent ? ` (${v.where.agent})` : '')],
    ...(why ? [['Why', why] as [string, string]] : []),
    ['Outcome', `${outcome} (AuditEvent action ${meaning.action})`],
  ];
  const body = rows.map(([k, val]) => `<p><b>${k}</b>: ${escapeXhtml(val)}</p>`).join('');
  return `<div xmlns="http://www.w3.org/1999/xhtml">${body}</div>`;
}

function disclosed(d: Disclosed): string {
  return 'shown' in d ? d.shown : `(sealed: ${d.hidden})`;
}

/** Text as XHTML character data; control characters (which XML cannot hold) become U+FFFD. */
function escapeXhtml(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '"') out += '&quot;';
    else if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffe || c === 0xffff) out += '\ufffd';
    else out += ch;
  }
  return out;
}
