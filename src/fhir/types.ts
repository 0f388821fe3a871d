import type { Resource } from '@medplum/fhirtypes';

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** The hospital a row belongs to: the tenant and the future shard key. */
export type TenantId = Brand<string, 'TenantId'>;
export const TenantId = (s: string): TenantId => s as TenantId;

/** A FHIR logical id ([A-Za-z0-9\-\.]{1,64}). */
export type ResourceId = Brand<string, 'ResourceId'>;

export const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export type AnyResource = Resource & { resourceType: string; id?: string };

/** A resource version as the store holds it. */
export interface StoredResource {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: string;
  readonly lastUpdated: Date;
  readonly deleted: boolean;
  /** The body with `meta.versionId` and `meta.lastUpdated` set; for a delete, the last live body. */
  readonly resource: AnyResource;
}
