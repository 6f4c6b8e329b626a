// Opaque keyset cursors: base64url JSON holding the sort key and id of the
// last record on a page. The next page starts strictly after that position, so
// records inserted or deleted between calls cause neither duplicates nor gaps.
import { createHash } from "node:crypto";
import { ValidationError } from "../errors.js";
import type { Page, PageRequest } from "../roles/data/common.js";
import type { ErrorContext } from "./filters.js";
import { previewValue } from "./json.js";

export type SortValue = string | number;

export interface CursorPosition {
  /** Sort key values of the last record returned, in sort order. */
  key: SortValue[];
  id: string;
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 1000;
const MAX_CURSOR_LENGTH = 2048;

/** Thrown for a cursor that was edited, truncated or issued by another query. */
export class InvalidCursorError extends ValidationError {}

interface CursorBody {
  v: 1;
  /** Query the cursor belongs to, such as `products:id`. */
  s: string;
  k: SortValue[];
  i: string;
  /** Checksum that catches edited or truncated cursors. */
  c: string;
}

// NOTE: the checksum has no secret, so it detects corruption and hand edits but not a forged cursor.
// A forged cursor grants nothing: every query is already scoped to the caller's tenant.
function checksum(scope: string, key: SortValue[], id: string): string {
  return createHash("sha256").update(JSON.stringify([scope, key, id])).digest("base64url").slice(0, 12);
}

export function encodeCursor(scope: string, position: CursorPosition): string {
  const body: CursorBody = { v: 1, s: scope, k: position.key, i: position.id, c: checksum(scope, position.key, position.id) };
  return Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
}

/** Decodes a cursor made by `encodeCursor` for the same scope; throws InvalidCursorError otherwise. */
export function decodeCursor(scope: string, cursor: string, context: ErrorContext = {}): CursorPosition {
  const reject = (reason: string): never => {
    throw new InvalidCursorError(
      `Invalid cursor ${previewValue(cursor, 40)}: ${reason}. Pass back the nextCursor of the previous page unchanged, or omit the cursor to start from the first page.`,
      { ...context, details: { cursor: previewValue(cursor, 40), scope } },
    );
  };

  if (typeof cursor !== "string" || cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH) {
    return reject("expected a non-empty string of at most 2048 characters");
  }
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return reject("it is not base64url");

  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return reject("it does not decode to a cursor");
  }
  if (!isCursorBody(body)) return reject("it does not decode to a cursor");
  if (body.s !== scope) return reject(`it belongs to another query (${body.s}, expected ${scope})`);
  if (body.c !== checksum(body.s, body.k, body.i)) return reject("its checksum does not match, so it was changed");

  return { key: body.k, id: body.i };
}

function isCursorBody(value: unknown): value is CursorBody {
  if (value === null || typeof value !== "object") return false;
  const body = value as Record<string, unknown>;
  return (
    body.v === 1 &&
    typeof body.s === "string" &&
    typeof body.i === "string" &&
    typeof body.c === "string" &&
    Array.isArray(body.k) &&
    body.k.every((item) => typeof item === "string" || (typeof item === "number" && Number.isFinite(item)))
  );
}

/** Throws ValidationError unless `limit` is absent or an integer from 1 to MAX_PAGE_LIMIT; returns the limit to use. */
export function resolvePageLimit(limit: unknown, context: ErrorContext = {}): number {
  if (limit === undefined || limit === null) return DEFAULT_PAGE_LIMIT;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new ValidationError(
      `Invalid page limit ${previewValue(limit)}: expected an integer from 1 to ${MAX_PAGE_LIMIT}.`,
      { ...context, details: { limit: previewValue(limit) } },
    );
  }
  return limit;
}

/** Compares two sort positions value by value, then by id. Strings compare by UTF-16 code unit. */
export function comparePositions(a: CursorPosition, b: CursorPosition): number {
  const length = Math.max(a.key.length, b.key.length);
  for (let i = 0; i < length; i++) {
    const order = compareValues(a.key[i], b.key[i]);
    if (order !== 0) return order;
  }
  return compareValues(a.id, b.id);
}

function compareValues(a: SortValue | undefined, b: SortValue | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (typeof a !== typeof b) return typeof a === "number" ? -1 : 1;
  return a < b ? -1 : 1;
}

export interface SortSpec<T> {
  /** Names the query so a cursor from one list cannot be replayed on another. */
  scope: string;
  /** Sort key values before the id tie-breaker; return [] to sort by id alone. */
  key: (item: T) => SortValue[];
  direction: "asc" | "desc";
}

/**
 * Sorts `items` by the spec, then returns the page after `request.cursor`.
 * This is the in-memory form of `find({ ...filter, (key, id) > cursor }).sort(key, id).limit(limit + 1)`.
 */
export function paginate<T extends { id: string }>(
  items: readonly T[],
  spec: SortSpec<T>,
  request: PageRequest = {},
  context: ErrorContext = {},
): Page<T> {
  const limit = resolvePageLimit(request.limit, context);
  const sign = spec.direction === "asc" ? 1 : -1;
  const positioned = items.map((item) => ({ item, position: { key: spec.key(item), id: item.id } }));
  positioned.sort((a, b) => sign * comparePositions(a.position, b.position));

  let remaining = positioned;
  if (request.cursor !== undefined && request.cursor !== null) {
    const after = decodeCursor(spec.scope, request.cursor, context);
    remaining = positioned.filter((entry) => sign * comparePositions(entry.position, after) > 0);
  }

  const pageEntries = remaining.slice(0, limit);
  const last = pageEntries[pageEntries.length - 1];
  const nextCursor = remaining.length > limit && last ? encodeCursor(spec.scope, last.position) : null;
  return { items: pageEntries.map((entry) => entry.item), nextCursor };
}
