// Tenant-partitioned in-memory collections. Records are copied on the way in
// and out, and unique indexes are kept per tenant, like a MongoDB collection
// with a unique compound index on (tenantId, field).
import { DuplicateKeyError, NotFoundError, ValidationError, VersionConflictError } from "../../errors.js";
import type { ErrorContext } from "../../data/filters.js";
import { cloneRecord, deepEqual, previewValue } from "../../data/json.js";
import { ID_PATTERN } from "../../data/validation.js";
import { currentContext, currentTenantId } from "../../tenant.js";

export const INTEGRATION_NAME = "memory";

export interface Clock {
  now: () => Date;
}

/** Error fields for the current call: data role, memory integration, current tenant and correlation id. */
export function errorContext(): ErrorContext {
  const context = currentContext();
  return { role: "data", integration: INTEGRATION_NAME, tenantId: context.tenantId, correlationId: context.correlationId };
}

/** Returns who made a change: the write option, else the operation context's actor, else "system". */
export function resolveActor(actor: string | undefined): string {
  return actor ?? currentContext().actor ?? "system";
}

/** Throws ValidationError unless `id` is a record id; this also keeps objects such as `{ $ne: null }` out of lookups. */
export function assertId(id: unknown, label: string): asserts id is string {
  if (typeof id !== "string" || !ID_PATTERN.test(id)) {
    throw new ValidationError(
      `Invalid ${label} ${previewValue(id)}: expected 1 to 128 letters, digits, '.', '_', ':', '@', '+' or '-', starting with a letter or digit.`,
      { ...errorContext(), details: { [label]: previewValue(id) } },
    );
  }
}

/** Throws VersionConflictError when `expected` is given and differs from the stored version. */
export function assertVersion(kind: string, id: string, expected: number | undefined, actual: number): void {
  if (expected === undefined || expected === actual) return;
  throw new VersionConflictError(
    `${kind} "${id}" was changed by another writer: expected version ${expected}, stored version ${actual}. Reload it and apply the change again.`,
    { ...errorContext(), details: { kind, id, expectedVersion: expected, actualVersion: actual } },
  );
}

export function notFound(kind: string, id: string): NotFoundError {
  return new NotFoundError(`${kind} "${id}" not found in tenant "${currentTenantId()}". Check the id and the tenant context.`, {
    ...errorContext(),
    details: { kind, id },
  });
}

export interface UniqueIndex<T> {
  /** Field name used in error messages, such as `sku`. */
  field: string;
  /** Indexed value of a record; undefined leaves the record out of the index. */
  key: (record: T) => string | undefined;
}

interface Partition<T> {
  records: Map<string, T>;
  /** Field name → indexed value → record id. */
  indexes: Map<string, Map<string, string>>;
}

export class TenantCollection<T extends { id: string }> {
  readonly #partitions = new Map<string, Partition<T>>();

  constructor(
    /** Record kind for messages, such as "Product". */
    readonly kind: string,
    private readonly uniques: readonly UniqueIndex<T>[] = [],
  ) {}

  #partition(tenantId: string): Partition<T> {
    let partition = this.#partitions.get(tenantId);
    if (!partition) {
      partition = { records: new Map(), indexes: new Map(this.uniques.map((index) => [index.field, new Map()])) };
      this.#partitions.set(tenantId, partition);
    }
    return partition;
  }

  /** Returns a copy of the record, or undefined. */
  get(tenantId: string, id: string): T | undefined {
    const record = this.#partitions.get(tenantId)?.records.get(id);
    return record === undefined ? undefined : cloneRecord(record);
  }

  has(tenantId: string, id: string): boolean {
    return this.#partitions.get(tenantId)?.records.has(id) ?? false;
  }

  /** Copies of every record of the tenant, in insertion order. */
  all(tenantId: string): T[] {
    const partition = this.#partitions.get(tenantId);
    return partition ? [...partition.records.values()].map((record) => cloneRecord(record)) : [];
  }

  /** Returns the stored objects themselves, for pure reads such as pricing; callers must not change or return them. */
  peekAll(tenantId: string): readonly T[] {
    const partition = this.#partitions.get(tenantId);
    return partition ? [...partition.records.values()] : [];
  }

  /** Returns copies of the tenant's records that pass `predicate`. The predicate receives the stored objects and must not change them. */
  filter(tenantId: string, predicate: (record: T) => boolean): T[] {
    const partition = this.#partitions.get(tenantId);
    if (!partition) return [];
    const matches: T[] = [];
    for (const record of partition.records.values()) if (predicate(record)) matches.push(cloneRecord(record));
    return matches;
  }

  count(tenantId: string): number {
    return this.#partitions.get(tenantId)?.records.size ?? 0;
  }

  findByUnique(tenantId: string, field: string, value: string): T | undefined {
    const partition = this.#partitions.get(tenantId);
    const id = partition?.indexes.get(field)?.get(value);
    return id === undefined ? undefined : this.get(tenantId, id);
  }

  /** Inserts a copy; throws DuplicateKeyError when the id or a unique field is taken in this tenant. */
  insert(tenantId: string, record: T): T {
    const partition = this.#partition(tenantId);
    if (partition.records.has(record.id)) throw this.#duplicate(tenantId, "id", record.id);
    this.#assertUnique(tenantId, partition, record);

    const stored = cloneRecord(record);
    partition.records.set(stored.id, stored);
    this.#index(partition, stored);
    return cloneRecord(stored);
  }

  /** Replaces the stored record with a copy of `record`; throws NotFoundError or DuplicateKeyError. */
  replace(tenantId: string, record: T): T {
    const partition = this.#partition(tenantId);
    const previous = partition.records.get(record.id);
    if (!previous) throw notFound(this.kind, record.id);
    this.#assertUnique(tenantId, partition, record);

    this.#unindex(partition, previous);
    const stored = cloneRecord(record);
    partition.records.set(stored.id, stored);
    this.#index(partition, stored);
    return cloneRecord(stored);
  }

  delete(tenantId: string, id: string): boolean {
    const partition = this.#partitions.get(tenantId);
    const previous = partition?.records.get(id);
    if (!partition || !previous) return false;
    this.#unindex(partition, previous);
    partition.records.delete(id);
    return true;
  }

  #assertUnique(tenantId: string, partition: Partition<T>, record: T): void {
    for (const index of this.uniques) {
      const value = index.key(record);
      if (value === undefined) continue;
      const owner = partition.indexes.get(index.field)?.get(value);
      if (owner !== undefined && owner !== record.id) throw this.#duplicate(tenantId, index.field, value, owner);
    }
  }

  #index(partition: Partition<T>, record: T): void {
    for (const index of this.uniques) {
      const value = index.key(record);
      if (value !== undefined) partition.indexes.get(index.field)?.set(value, record.id);
    }
  }

  #unindex(partition: Partition<T>, record: T): void {
    for (const index of this.uniques) {
      const value = index.key(record);
      if (value !== undefined) partition.indexes.get(index.field)?.delete(value);
    }
  }

  #duplicate(tenantId: string, field: string, value: string, owner?: string): DuplicateKeyError {
    const holder = owner === undefined ? "" : ` by ${this.kind.toLowerCase()} "${owner}"`;
    return new DuplicateKeyError(
      `${this.kind} ${field} "${value}" is already used${holder} in tenant "${tenantId}". Choose another ${field} or update the existing record.`,
      { ...errorContext(), details: { kind: this.kind, field, value, existingId: owner } },
    );
  }
}

/** Timestamps and version for a new record. */
export function newStoredFields(id: string, tenantId: string, now: Date) {
  const at = now.toISOString();
  return { id, tenantId, version: 1, createdAt: at, updatedAt: at };
}

/**
 * Writes `fields` over the stored record as a new version, or inserts it.
 * Stored fields missing from `fields` are kept, and an unchanged record keeps its version.
 */
export function upsertVersioned<T extends { id: string; tenantId: string; version: number; createdAt: string; updatedAt: string }>(
  collection: TenantCollection<T>,
  clock: Clock,
  id: string,
  fields: Omit<T, "id" | "tenantId" | "version" | "createdAt" | "updatedAt">,
): T {
  const tenantId = currentTenantId();
  const current = collection.get(tenantId, id);
  if (!current) return collection.insert(tenantId, { ...newStoredFields(id, tenantId, clock.now()), ...fields } as T);

  const next = { ...current, ...fields } as T;
  if (deepEqual(current, next)) return current;
  return collection.replace(tenantId, { ...next, version: current.version + 1, updatedAt: clock.now().toISOString() });
}
