// Read, change and write back one record with optimistic concurrency: the
// write is a replaceOne on { _id, tenantId, version }, so it matches only if no
// other writer got there first.
import { deepEqual, isBridgeError } from "@bridge/core";
import type { TenantCollection } from "../collection.js";
import { assertVersion, compact, newStoredFields, notFound, versionConflict, type ModuleContext } from "./shared.js";

interface VersionedRecord {
  id: string;
  version: number;
  updatedAt: string;
}

/** Attempts of a write without expectedVersion before it reports the conflict. */
const MAX_ATTEMPTS = 5;

export interface MutateOptions {
  /** Fail with VersionConflictError unless the stored version equals this. */
  expectedVersion?: number;
  /** Parts of the record's `_id` when it is not keyed by its id alone. Default [id]. */
  keyParts?: string[];
}

/** Lock name of one record, for `store.exclusive`. */
export function recordLock<T extends { id: string }>(collection: TenantCollection<T>, ...keyParts: string[]): string {
  return `${collection.name}/${collection.key(...keyParts)}`;
}

/**
 * Applies `change` to the stored record and writes the result as the next
 * version. `change` returns the new record, or the current one to write
 * nothing. Without `expectedVersion`, a write that loses a race re-reads the
 * record and tries again, up to 5 times. Returns the record as stored and
 * whether it changed.
 */
export async function mutateRecord<T extends VersionedRecord>(
  { store, now }: ModuleContext,
  collection: TenantCollection<T>,
  id: string,
  change: (current: T) => T | Promise<T>,
  options: MutateOptions = {},
): Promise<{ record: T; previous: T; changed: boolean }> {
  const keyParts = options.keyParts ?? [id];
  return store.exclusive(recordLock(collection, ...keyParts), async () => {
    for (let attempt = 1; ; attempt++) {
      const current = await collection.findOne({ _id: collection.key(...keyParts) });
      if (!current) throw notFound(store, collection.kind, id);
      assertVersion(store, collection.kind, id, options.expectedVersion, current.version);

      const proposed = await change(current);
      if (proposed === current || deepEqual(proposed, current)) return { record: current, previous: current, changed: false };

      const next = { ...proposed, version: current.version + 1, updatedAt: now().toISOString() };
      const stored = await collection.replaceWhere(collection.key(...keyParts), { version: current.version }, (record) => record.version === current.version, next, keyParts);
      if (stored) {
        return { record: next, previous: current, changed: true };
      }
      if (options.expectedVersion !== undefined || attempt >= MAX_ATTEMPTS) {
        throw versionConflict(store, collection.kind, id, options.expectedVersion ?? current.version, null);
      }
    }
  });
}

/**
 * Creates the record `id` with `fields`, or replaces the fields of the stored
 * one as a new version (kept as is when nothing changed). Fields absent from
 * `fields` are dropped, so the stored record always equals the last input.
 * It tries the insert first: on FerretDB 1.24 an insert is indexed while a
 * lookup of a missing `_id` scans the collection. An unchanged record costs
 * that insert and one read, so only a real change takes the record's lock.
 */
export async function upsertRecord<T extends VersionedRecord & { tenantId: string; createdAt: string }>(
  context: ModuleContext,
  collection: TenantCollection<T>,
  id: string,
  fields: Omit<T, "id" | "tenantId" | "version" | "createdAt" | "updatedAt">,
): Promise<T> {
  const build = (stored: T) =>
    compact({ id: stored.id, tenantId: stored.tenantId, version: stored.version, createdAt: stored.createdAt, updatedAt: stored.updatedAt, ...fields }) as unknown as T;

  for (let attempt = 1; ; attempt++) {
    let duplicate: unknown;
    try {
      return await collection.insert(compact({ ...newStoredFields(id, collection.tenantId, context.now()), ...fields }) as unknown as T);
    } catch (error) {
      if (!isBridgeError(error, "DUPLICATE_KEY")) throw error;
      duplicate = error;
    }

    const current = await collection.findById(id);
    if (!current) {
      // Deleted between the insert and the read, or another unique field collided: try again, then report the collision.
      if (attempt < MAX_ATTEMPTS) continue;
      throw duplicate;
    }
    if (deepEqual(build(current), current)) return current;
    const { record } = await mutateRecord(context, collection, id, build);
    return record;
  }
}
