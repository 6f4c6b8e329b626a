// Helpers every data module of this provider shares: error context, id and
// version checks, timestamps and the clock.
import {
  NotFoundError,
  ValidationError,
  VersionConflictError,
  currentContext,
  currentTenantId,
  ID_PATTERN,
  previewValue,
} from "@bridge/core";
import { randomUUID } from "node:crypto";
import type { ErrorContext } from "../errors.js";
import type { MongoStore } from "../store.js";

export interface ModuleContext {
  store: MongoStore;
  now: () => Date;
}

/** Error fields for the current call: data role, this integration, current tenant and correlation id. */
export function errorContext(store: MongoStore): ErrorContext {
  const context = currentContext();
  return { role: "data", integration: store.name, tenantId: context.tenantId, correlationId: context.correlationId };
}

/** Who made a change: the write option, else the operation context's actor, else "system". */
export function resolveActor(actor: string | undefined): string {
  return actor ?? currentContext().actor ?? "system";
}

/** Throws ValidationError unless `id` is a record id; this also keeps objects such as `{ $ne: null }` out of lookups. */
export function assertId(store: MongoStore, id: unknown, what: string): asserts id is string {
  if (typeof id !== "string" || !ID_PATTERN.test(id)) {
    throw new ValidationError(
      `Invalid ${what} ${previewValue(id)}: expected 1 to 128 letters, digits, '.', '_', ':', '@', '+' or '-', starting with a letter or digit.`,
      { ...errorContext(store), details: { [what]: previewValue(id) } },
    );
  }
}

/** Throws VersionConflictError when `expected` is given and differs from the stored version. */
export function assertVersion(store: MongoStore, kind: string, id: string, expected: number | undefined, actual: number): void {
  if (expected === undefined || expected === actual) return;
  throw versionConflict(store, kind, id, expected, actual);
}

export function versionConflict(store: MongoStore, kind: string, id: string, expected: number, actual: number | null): VersionConflictError {
  const stored = actual === null ? "another writer changed it first" : `stored version ${actual}`;
  return new VersionConflictError(
    `${kind} "${id}" was changed by another writer: expected version ${expected}, ${stored}. Reload it and apply the change again.`,
    { ...errorContext(store), details: { kind, id, expectedVersion: expected, actualVersion: actual } },
  );
}

export function notFound(store: MongoStore, kind: string, id: string): NotFoundError {
  return new NotFoundError(`${kind} "${id}" not found in tenant "${currentTenantId()}". Check the id and the tenant context.`, {
    ...errorContext(store),
    details: { kind, id },
  });
}

/** Timestamps and version for a new record. */
export function newStoredFields(id: string, tenantId: string, now: Date) {
  const at = now.toISOString();
  return { id, tenantId, version: 1, createdAt: at, updatedAt: at };
}

/** Copy of `record` without undefined fields, as MongoDB stores it. */
export function compact<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

/** Throws ValidationError unless `limit` is absent or an integer from 1 to `max`; returns the limit to use. */
export function resolveLimit(store: MongoStore, limit: unknown, fallback: number, max: number, what: string): number {
  if (limit === undefined) return fallback;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new ValidationError(`Invalid ${what} limit ${previewValue(limit)}: expected an integer from 1 to ${max}.`, {
      ...errorContext(store),
      details: { limit: previewValue(limit) },
    });
  }
  return limit;
}

/** Throws ValidationError unless `value` is absent or a valid Date. */
export function assertOptionalDate(store: MongoStore, value: unknown, what: string): asserts value is Date | undefined {
  if (value !== undefined && (!(value instanceof Date) || Number.isNaN(value.getTime()))) {
    throw new ValidationError(`Invalid ${what} ${previewValue(value)}: expected a valid Date.`, errorContext(store));
  }
}

let sequenceCounter = 0;

/**
 * A string that sorts records by creation: the time in base 36, then a
 * counter of this process, then random characters. Records written by two
 * processes in the same millisecond sort in no particular order.
 */
export function sequenceKey(at: Date): string {
  sequenceCounter = (sequenceCounter + 1) % 36 ** 4;
  return `${at.getTime().toString(36).padStart(10, "0")}${sequenceCounter.toString(36).padStart(4, "0")}${randomUUID().slice(0, 6)}`;
}

/** Escapes every regex metacharacter, so user text in `$regex` matches itself literally. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
