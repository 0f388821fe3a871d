/**
 * Sushruta's own checks, for what @medplum/core 4.5.2's validator does not cover:
 *  - resource ids (root, contained, Bundle entries) match [A-Za-z0-9\-.]{1,64}: the library types
 *    Resource.id as a plain FHIRPath String and never applies the `id` regex to it;
 *  - `code` elements with a `required` binding hold a code of the bound value set;
 *  - Reference.reference is well formed, names an R4 type, a contained '#id' exists, and the
 *    target type is one the element allows (the library only warns about that).
 * It reuses the library's schema-driven crawler so paths are the same shape as its issues.
 */
import { crawlTypedValue, toTypedValue } from '@medplum/core';
import type { CrawlerVisitor, InternalSchemaElement, InternalTypeSchema, TypedValueWithPath } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue } from '../outcome.js';
import { ID_PATTERN } from '../types.js';
import type { AnyResource } from '../types.js';
import { parseReference, targetTypeProblem, type ReferenceRules } from './references.js';
import { requiredCodes, requiredFormat } from './value-sets.js';

/** A primitive with a sibling `_element` extension arrives as a boxed String; unwrap it. */
function primitive(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? v.valueOf() : v;
}

class SushrutaChecks implements CrawlerVisitor {
  readonly issues: OperationOutcomeIssue[] = [];
  /** Enclosing resources, innermost last; '#id' resolves against the nearest with `contained`. */
  private readonly resources: AnyResource[] = [];

  constructor(private readonly rules: ReferenceRules) {}

  onEnterResource(path: string, obj: TypedValueWithPath): void {
    const resource = obj.value as AnyResource;
    this.resources.push(resource);
    const id: unknown = resource.id;
    if (id !== undefined && (typeof id !== 'string' || !ID_PATTERN.test(id))) {
      this.issues.push(issue('invalid', `Invalid resource id ${JSON.stringify(id)}: expected [A-Za-z0-9-.]{1,64}`, `${path}.id`));
    }
  }

  onExitResource(): void {
    this.resources.pop();
  }

  visitProperty(
    _parent: TypedValueWithPath,
    key: string,
    _path: string,
    propertyValues: (TypedValueWithPath | TypedValueWithPath[])[],
    schema: InternalTypeSchema,
  ): void {
    const element = schema.elements[key];
    if (!element) return;
    for (const v of propertyValues.flat()) {
      if (v?.value === undefined || v.value === null) continue;
      if (v.type === 'code') this.checkBinding(v, element);
      else if (v.type === 'Reference') this.checkReference(v, element);
    }
  }

  private checkBinding(v: TypedValueWithPath, element: InternalSchemaElement): void {
    const binding = element.binding;
    if (binding?.strength !== 'required' || !binding.valueSet) return;
    const code = primitive(v.value);
    if (typeof code !== 'string') return; // wrong JSON type: the library reports it
    const format = requiredFormat(binding.valueSet);
    if (format) {
      if (!format.pattern.test(code)) this.issues.push(issue('code-invalid', `Invalid code '${code}': expected ${format.what}`, v.path));
      return;
    }
    const allowed = requiredCodes(binding.valueSet);
    if (!allowed || allowed.has(code)) return;
    const list = allowed.size <= 12 ? `; expected one of ${[...allowed].join(', ')}` : '';
    this.issues.push(
      issue('code-invalid', `Invalid code '${code}': not in the required value set ${binding.valueSet.split('|')[0]}${list}`, v.path),
    );
  }

  private checkReference(v: TypedValueWithPath, element: InternalSchemaElement): void {
    const ref: unknown = (v.value as { reference?: unknown }).reference;
    if (ref === undefined) return; // identifier- or display-only references are allowed
    const path = `${v.path}.reference`;
    if (typeof ref !== 'string') return; // wrong JSON type: the library reports it
    const parsed = parseReference(ref, this.rules);
    if (typeof parsed === 'string') {
      this.issues.push(issue('invalid', parsed, path));
      return;
    }
    if (parsed.kind === 'contained' && parsed.id !== '' && !this.containedIds().has(parsed.id)) {
      this.issues.push(issue('not-found', `Contained reference '${ref}' does not match the id of any contained resource`, path));
      return;
    }
    if ('type' in parsed && parsed.type) {
      const targets = element.type.find((t) => t.code === 'Reference')?.targetProfile;
      const problem = targetTypeProblem(parsed.type, targets);
      if (problem) this.issues.push(issue('invalid', problem, path));
    }
  }

  private containedIds(): Set<string> {
    for (let i = this.resources.length - 1; i >= 0; i--) {
      const contained: unknown = (this.resources[i] as { contained?: unknown } | undefined)?.contained;
      if (Array.isArray(contained)) {
        return new Set(contained.flatMap((c: { id?: unknown } | null) => (typeof c?.id === 'string' ? [c.id] : [])));
      }
    }
    return new Set();
  }
}

export function sushrutaIssues(resource: AnyResource, rules: ReferenceRules): OperationOutcomeIssue[] {
  const visitor = new SushrutaChecks(rules);
  // Crawl by schema element (not by JSON key) so choice elements arrive as `value[x]` with their definition.
  crawlTypedValue(toTypedValue(resource), visitor);
  return visitor.issues;
}
