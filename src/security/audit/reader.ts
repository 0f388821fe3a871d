/**
 * The audit log's read side (the `AuditReader` port): finds records of one hospital by the
 * searchable columns of `audit_log` and hands out each record as its stored entry says — the
 * entry is what is hashed and signed, the columns only find it — with its sealed fields opened
 * when the caller may see them.
 */
import type { AuditCondition, AuditQuery, AuditReader, AuditRecordView, Disclosed } from '../../fhir/audit-reader.js';
import type { TenantId } from '../../fhir/types.js';
import type { Queryable, SqlValue } from '../../store/db.js';
import { type AuditRecord, type AuditSealer, decodeRecord, type Sealed } from './record.js';

export class LogAuditReader implements AuditReader {
  constructor(private readonly sealer: AuditSealer) {}

  async find(q: Queryable, query: AuditQuery): Promise<AuditRecordView[]> {
    const sql = new Where(query.tenantId);
    for (const c of query.where) sql.add(c);
    const dir = query.order === 'asc' ? 'ASC' : 'DESC';
    if (query.after) {
      const t = `${sql.p(query.after.time)}::timestamptz`;
      const cmp = query.order === 'asc' ? '>' : '<';
      // The plain time bound lets the time-ordered indexes start at the position; the row
      // comparison then skips the records of that millisecond already seen.
      sql.raw(`recorded_at ${cmp}= ${t} AND (recorded_at, seq) ${cmp} (${t}, ${sql.p(query.after.seq)})`);
    }
    const limit = Math.max(0, Math.trunc(query.limit));
    // Time order, not seq order: every index auditors search by ends in recorded_at, so a page is
    // an index range scan however far back the searched window lies.
    const res = await q.query<{ seq: string | number; entry: string }>(
      `SELECT seq, entry FROM audit_log WHERE ${sql.text()} ORDER BY recorded_at ${dir}, seq ${dir} LIMIT ${limit}`,
      sql.params,
    );
    const out: AuditRecordView[] = [];
    for (const row of res.rows) {
      const rec = decodeRecord(row.entry);
      // The column found it; the entry decides. A row whose entry names another hospital or
      // position has been tampered with (`audit verify` names it) and is not handed out.
      if (rec.tenant !== query.tenantId || rec.seq !== Number(row.seq)) continue;
      out.push(this.#view(rec, query.reveal));
    }
    return out;
  }

  async count(q: Queryable, tenantId: TenantId, where: readonly AuditCondition[]): Promise<number> {
    const sql = new Where(tenantId);
    for (const c of where) sql.add(c);
    const res = await q.query<{ n: string | number }>(`SELECT count(*) AS n FROM audit_log WHERE ${sql.text()}`, sql.params);
    return Number(res.rows[0]?.n ?? 0);
  }

  #view(r: AuditRecord, reveal: boolean): AuditRecordView {
    const open = (field: string, v: Sealed | null): Disclosed | null => (v === null ? null : this.#disclose(r, field, v, reveal));
    return {
      seq: r.seq,
      time: r.time,
      request: r.request,
      who: { ...r.who },
      action: r.what.action,
      type: r.what.type,
      id: r.what.id,
      version: r.what.version,
      query: open('query', r.what.query),
      resources: [...r.what.resources],
      resourceCount: r.what.resourceCount,
      patients: [...r.patients],
      where: { ...r.where, forwarded: [...r.where.forwarded] },
      why: { purpose: r.why.purpose, breakGlass: open('breakGlass', r.why.breakGlass) },
      outcome: { status: r.outcome.status, rule: r.outcome.rule, reason: open('reason', r.outcome.reason) },
    };
  }

  #disclose(r: AuditRecord, field: string, v: Sealed, reveal: boolean): Disclosed {
    if ('withheld' in v) return { hidden: `not recorded: ${v.withheld}` };
    if (!reveal) return { hidden: 'this caller may not see sealed audit fields' };
    try {
      return { shown: this.sealer.open(r.tenant, r.request, field, v) };
    } catch {
      // Keys destroyed (crypto-shredding) or the ciphertext altered: who, what and when still stand.
      return { hidden: 'it cannot be decrypted (the key is gone, or the field was altered)' };
    }
  }
}

/** The WHERE clause of a query: the tenant first, then each condition, AND-ed. */
class Where {
  readonly params: SqlValue[] = [];
  readonly #parts: string[] = [];

  constructor(tenantId: TenantId) {
    this.#parts.push(`tenant_id = ${this.p(tenantId)}`);
  }

  p(v: SqlValue): string {
    this.params.push(v);
    return `$${this.params.length}`;
  }

  raw(sql: string): void {
    this.#parts.push(sql);
  }

  text(): string {
    return this.#parts.join(' AND ');
  }

  add(c: AuditCondition): void {
    this.#parts.push(this.#condition(c));
  }

  #condition(c: AuditCondition): string {
    // A condition no value can satisfy (an unknown code, say) matches nothing, rather than everything.
    if (c.any.length === 0) return 'FALSE';
    switch (c.on) {
      case 'patient':
        // && (overlap) is answered from the GIN index on patients.
        return `patients && ${this.p(c.any)}::text[]`;
      case 'agent':
        return this.#oneOf('agent', c.any);
      case 'action':
        return this.#oneOf('action', c.any);
      case 'seq':
        return `seq = ANY(${this.p(c.any)}::bigint[])`;
      case 'status':
        return this.#or(c.any.map((r) => `outcome BETWEEN ${this.p(r.from)} AND ${this.p(r.to)}`));
      case 'recorded':
        return this.#or(
          c.any.map((r) => {
            const ends = [
              ...(r.from ? [`recorded_at >= ${this.p(r.from.toISOString())}::timestamptz`] : []),
              ...(r.to ? [`recorded_at <= ${this.p(r.to.toISOString())}::timestamptz`] : []),
            ];
            return ends.length > 0 ? ends.join(' AND ') : 'TRUE';
          }),
        );
      case 'entity': {
        const patients = c.any.filter((e) => e.type === 'Patient').map((e) => e.id);
        const targets = c.any.map((e) => `(resource_type = ${this.p(e.type)} AND resource_id = ${this.p(e.id)})`);
        return this.#or([...(patients.length > 0 ? [`patients && ${this.p(patients)}::text[]`] : []), ...targets]);
      }
    }
  }

  /** `=` for one value: the planner then reads (tenant_id, agent, seq) in seq order; `= ANY` it cannot. */
  #oneOf(column: 'agent' | 'action', values: readonly string[]): string {
    return values.length === 1 ? `${column} = ${this.p(values[0] as string)}` : `${column} = ANY(${this.p(values)}::text[])`;
  }

  #or(alternatives: readonly string[]): string {
    return `(${alternatives.map((a) => `(${a})`).join(' OR ')})`;
  }
}
