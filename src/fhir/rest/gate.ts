/**
 * What one request may see and write, resource by resource: the access policy's `screen` (see
 * guard.ts), applied where resources leave the door (a read, every search match and `_include`d
 * resource, every history entry) and where they are written (the new content and the version it
 * replaces). Built by FhirService for each request; it remembers what it withheld so that the
 * audit record names the rule.
 */
import type { RequestContext } from '../context.js';
import type { AccessDecision, AccessPolicy } from '../guard.js';
import { FhirError, issue } from '../outcome.js';
import type { AnyResource } from '../types.js';
import type { Queryable } from '../../store/db.js';

/** A refusal by the policy: a 403 whose OperationOutcome names the rule (and nothing of the data). */
export class AccessDenied extends FhirError {
  constructor(
    readonly rule: string,
    reason: string,
  ) {
    super(403, [issue('forbidden', `access denied by rule '${rule}': ${reason}`)]);
  }
}

export class Gate {
  /** Resources left out of search and history results, and the rule that left out the first of them. */
  withheld = 0;
  withheldRule: string | undefined;
  /** The rule that allowed a screened resource last (break-glass, grant, care relationship). */
  allowedRule: string | undefined;

  constructor(
    private readonly policy: AccessPolicy,
    private readonly ctx: RequestContext,
  ) {}

  /** Whether results are screened for this caller (then a search's `total` is left out). */
  get screening(): boolean {
    return this.policy.screen !== undefined && (this.policy.screens?.(this.ctx) ?? true);
  }

  async #screen(
    q: Queryable,
    purpose: 'read' | 'write',
    resources: readonly AnyResource[],
  ): Promise<readonly AccessDecision[] | undefined> {
    if (!this.screening || resources.length === 0 || !this.policy.screen) return undefined;
    const decisions = await this.policy.screen(this.ctx, q, purpose, resources);
    if (decisions.length !== resources.length) throw new Error('the access policy answered for a different number of resources');
    return decisions;
  }

  /** The items whose resource the caller may see, in order; the others are counted as withheld. */
  async release<T extends { readonly resource: AnyResource }>(q: Queryable, items: readonly T[]): Promise<T[]> {
    const decisions = await this.#screen(
      q,
      'read',
      items.map((i) => i.resource),
    );
    if (!decisions) return [...items];
    const out: T[] = [];
    for (const [i, item] of items.entries()) {
      const d = decisions[i] as AccessDecision;
      if (d.allowed) {
        out.push(item);
        this.#noteAllowed(d.rule);
      } else {
        this.withheld += 1;
        this.withheldRule ??= d.rule;
      }
    }
    return out;
  }

  /** Throws AccessDenied unless the caller may see this resource. */
  async mayRead(q: Queryable, resource: AnyResource): Promise<void> {
    const d = (await this.#screen(q, 'read', [resource]))?.[0];
    if (d && !d.allowed) throw new AccessDenied(d.rule, d.reason);
    if (d) this.#noteAllowed(d.rule);
  }

  /** Throws AccessDenied unless the caller may write `next` (absent for a delete) over `current`. */
  async mayWrite(q: Queryable, next: AnyResource | undefined, current: AnyResource | undefined): Promise<void> {
    const list = [next, current].filter((r): r is AnyResource => r !== undefined);
    const decisions = await this.#screen(q, 'write', list);
    if (!decisions) return;
    for (const d of decisions) if (!d.allowed) throw new AccessDenied(d.rule, d.reason);
    for (const d of decisions) this.#noteAllowed(d.rule);
  }

  /** Break-glass and grants outrank the ordinary rules in what the audit record names. */
  #noteAllowed(rule: string): void {
    if (this.allowedRule === undefined || RANK(rule) > RANK(this.allowedRule)) this.allowedRule = rule;
  }
}

const RANK = (rule: string): number => (rule.startsWith('break-glass') ? 2 : rule.startsWith('grant') ? 1 : 0);

/** A gate that lets everything through: for callers without a request (the benchmark's floor). */
export const OPEN_POLICY: AccessPolicy = { decide: () => ({ allowed: true, rule: 'open' }) };
