/**
 * One audit record: who did what, to which patients, from where, why, and with what outcome
 * (DESIGN.md invariant 3), in the exact form that is hashed into the log.
 *
 * The stored entry is UTF-8 JSON with a fixed key order (the order `encodeRecord` builds). It is
 * hashed as stored, byte for byte, and never re-serialised for verification, so the key order only
 * has to be stable for readers, not canonical.
 *
 * Personal data that can appear in a record (a search query names patients: `name=sharma`; an
 * error message can echo the input that caused it) is sealed with the tenant's data key (`AuditSealer`) before it is hashed; ids of patients and
 * resources stay plain, as the issue allows, so that "who touched this patient" can be answered
 * without keys and the chain can be verified by someone who holds no key at all.
 */
import type { AuditEntry } from '../../fhir/guard.js';

/**
 * A sealed (encrypted) field: the sealer's ciphertext, base64. `plain` only when encryption is off
 * (benchmark baseline). `withheld` when the field could not be sealed because the hospital's keys
 * are destroyed (crypto-shredding): the record is still written, without the field.
 */
export type Sealed = { readonly sealed: string } | { readonly plain: string } | { readonly withheld: string };

/** Encrypts and decrypts personal fields of records, bound to tenant, request and field. */
export interface AuditSealer {
  seal(tenantId: string, requestId: string, field: string, value: string): Sealed;
  open(tenantId: string, requestId: string, field: string, value: Sealed): string;
}

/** Stores fields as they are: only for the encryption-off benchmark baseline and unit tests. */
export const plainSealer: AuditSealer = {
  seal: (_t, _r, _f, value) => ({ plain: value }),
  open: (_t, _r, _f, value) => {
    if ('plain' in value) return value.plain;
    throw new Error('this audit record field is sealed or withheld, and no key is available to open it');
  },
};

/** At most this many resource ids are listed in one record (a page of search results is far fewer). */
export const MAX_LISTED_RESOURCES = 1000;

export interface AuditRecord {
  readonly v: 1;
  /** Position in the log, from 1. */
  readonly seq: number;
  /** Leaf hash (hex) of record seq - 1; 64 zeros for the first record. */
  readonly prev: string;
  /** Server time the record was made (ISO 8601, UTC). */
  readonly time: string;
  readonly tenant: string;
  readonly request: string;
  readonly who: {
    readonly kind: string;
    /** The user, integration client or job. */
    readonly id: string;
    readonly role: string | null;
    readonly session: string | null;
    readonly client: string | null;
  };
  readonly what: {
    readonly action: string;
    readonly type: string | null;
    readonly id: string | null;
    readonly version: string | null;
    readonly query: Sealed | null;
    /** Every resource returned or written (Type/id), up to MAX_LISTED_RESOURCES, and how many in all. */
    readonly resources: readonly string[];
    readonly resourceCount: number;
  };
  /** Ids of the patients whose data was returned or written. */
  readonly patients: readonly string[];
  readonly where: {
    readonly peer: string;
    readonly forwarded: readonly string[];
    readonly client: string;
    readonly agent: string | null;
  };
  readonly why: { readonly purpose: string | null; readonly breakGlass: Sealed | null };
  /** `reason`: the error's diagnostics, sealed (a message can echo the input that caused it). */
  readonly outcome: { readonly status: number; readonly rule: string | null; readonly reason: Sealed | null };
}

/** A record before the log gives it its place (seq, prev). */
export type UnplacedRecord = Omit<AuditRecord, 'seq' | 'prev'>;

/** The agent column: who acted, as one searchable string. */
export function agentOf(r: Pick<AuditRecord, 'who'>): string {
  return `${r.who.kind}:${r.who.id}`;
}

/** The `who` of a record: a staff user carries their roles (comma-separated) and the session's public id. */
export function whoOf(actor: AuditEntry['ctx']['actor']): AuditRecord['who'] {
  switch (actor.kind) {
    case 'local-operator':
      return { kind: actor.kind, id: actor.description, role: null, session: null, client: null };
    case 'system':
      return { kind: actor.kind, id: actor.job, role: null, session: null, client: null };
    case 'user':
      return { kind: actor.kind, id: actor.id, role: actor.roles.join(','), session: actor.sessionId, client: null };
    case 'client':
      return { kind: actor.kind, id: actor.id, role: 'integration', session: actor.tokenId, client: actor.id };
    case 'anonymous':
      return { kind: actor.kind, id: 'anonymous', role: null, session: null, client: null };
  }
}

/** Builds the record of an interaction the FHIR operation layer reports. */
export function recordOf(entry: AuditEntry, time: Date, sealer: AuditSealer): UnplacedRecord {
  const { ctx } = entry;
  const tenant = String(ctx.tenantId);
  const who = whoOf(ctx.actor);
  const resources = entry.resources ?? [];
  const error = entry.outcome.error;
  const reason = error ? sealer.seal(tenant, ctx.requestId, 'reason', error.issues.map((i) => i.diagnostics ?? i.code).join('; ')) : null;
  return {
    v: 1,
    time: time.toISOString(),
    tenant,
    request: ctx.requestId,
    who,
    what: {
      // An operation is recorded by its name (`$access-report`): the interaction alone would not say which.
      action: entry.interaction === 'operation' && entry.operation ? `$${entry.operation}` : entry.interaction,
      type: entry.resourceType ?? null,
      id: entry.id ?? null,
      version: entry.versionId ?? null,
      query: entry.query ? sealer.seal(tenant, ctx.requestId, 'query', entry.query) : null,
      resources: resources.slice(0, MAX_LISTED_RESOURCES),
      resourceCount: resources.length,
    },
    patients: [...new Set(entry.patients ?? [])],
    where: {
      peer: ctx.provenance.peerAddress,
      forwarded: [...ctx.provenance.forwardedChain],
      client: ctx.provenance.clientAddress,
      agent: ctx.provenance.userAgent ?? null,
    },
    why: { purpose: null, breakGlass: null },
    outcome: { status: entry.outcome.status, rule: entry.outcome.rule ?? null, reason },
  };
}

/** The record placed at `seq` after the record whose leaf hash is `prev`, as the exact stored text. */
export function encodeRecord(r: UnplacedRecord, seq: number, prev: string): string {
  // Keys in a fixed order: `v, seq, prev` first so a reader sees the position before anything else.
  const placed: AuditRecord = {
    v: r.v,
    seq,
    prev,
    time: r.time,
    tenant: r.tenant,
    request: r.request,
    who: r.who,
    what: r.what,
    patients: r.patients,
    where: r.where,
    why: r.why,
    outcome: r.outcome,
  };
  return JSON.stringify(placed);
}

/** Parses a stored entry; throws with the problem named when it is not a version-1 record. */
export function decodeRecord(text: string): AuditRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error('the entry is not valid JSON');
  }
  const r = v as Partial<AuditRecord> | null;
  if (!r || typeof r !== 'object' || r.v !== 1) throw new Error('the entry is not a version-1 audit record');
  if (typeof r.seq !== 'number' || typeof r.prev !== 'string' || typeof r.time !== 'string' || typeof r.tenant !== 'string')
    throw new Error('the entry lacks its seq, prev, time or tenant');
  if (!r.who || !r.what || !Array.isArray(r.patients) || !r.outcome) throw new Error('the entry lacks who, what, patients or outcome');
  return r as AuditRecord;
}

/** 64 hex zeros: the `prev` of the first record. */
export const GENESIS_PREV = '0'.repeat(64);
