// Generic JSON documents by collection and id, with optimistic concurrency and
// a history of earlier versions.
import { paginate } from "../../data/cursor.js";
import { assertPlainFilter, matchesFilter } from "../../data/filters.js";
import { cloneRecord, describeNonJson, previewValue } from "../../data/json.js";
import { BridgeError, ValidationError } from "../../errors.js";
import type { BulkResult, FieldFilter, PageRequest, WriteOptions } from "../../roles/data/common.js";
import type { RepositoryDocument, RepositoryModule } from "../../roles/data/repository.js";
import { currentTenantId } from "../../tenant.js";
import { type Clock, TenantCollection, assertId, assertVersion, errorContext, newStoredFields } from "./store.js";

/** Collection names: a letter, then letters, digits, `_`, `-` or `.`; MongoDB reserves the `system.` prefix. */
export const COLLECTION_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** Earlier versions kept per document; older ones are dropped first. */
export const MAX_HISTORY_PER_DOCUMENT = 50;

export const MAX_BULK_DOCUMENTS = 10_000;

type Document = RepositoryDocument<Record<string, unknown>>;

function assertCollection(collection: unknown): asserts collection is string {
  if (typeof collection !== "string" || !COLLECTION_NAME_PATTERN.test(collection) || collection.startsWith("system.")) {
    throw new ValidationError(
      `Invalid collection name ${previewValue(collection)}: use 1 to 64 letters, digits, '_', '-' or '.', starting with a letter and not with "system.".`,
      { ...errorContext(), details: { collection: previewValue(collection) } },
    );
  }
}

function assertData(data: unknown, collection: string, id: string): asserts data is Record<string, unknown> {
  const problem = data !== null && typeof data === "object" && !Array.isArray(data) ? describeNonJson(data, "data") : "data is not a JSON object";
  if (problem) {
    throw new ValidationError(`Invalid document "${id}" in collection "${collection}": ${problem}. Store plain JSON objects only.`, {
      ...errorContext(),
      details: { collection, id, problem },
    });
  }
}

/** Checks the expected version; 0 means the document must not exist yet, so `put` with it only creates. */
function assertExpectedVersion(collection: string, id: string, expected: unknown, actual: number): void {
  if (expected !== undefined && (typeof expected !== "number" || !Number.isSafeInteger(expected) || expected < 0)) {
    throw new ValidationError(`Invalid expectedVersion ${previewValue(expected)}: expected an integer from 0 up (0 means the document must not exist).`, {
      ...errorContext(),
      details: { collection, id },
    });
  }
  assertVersion("Document", `${collection}/${id}`, expected as number | undefined, actual);
}

export function createMemoryRepository(clock: Clock): RepositoryModule {
  // Keyed by `${collection}/${id}` so collections share one tenant partition; "/" cannot occur in either part.
  const documents = new TenantCollection<Document>("Document");
  const histories = new Map<string, Document[]>();

  const storageKey = (collection: string, id: string) => `${collection}/${id}`;
  const historyKey = (tenantId: string, collection: string, id: string) => JSON.stringify([tenantId, collection, id]);

  function write(collection: string, id: string, data: Record<string, unknown>, expectedVersion: number | undefined): Document {
    const tenantId = currentTenantId();
    const key = storageKey(collection, id);
    const current = documents.get(tenantId, key);
    assertExpectedVersion(collection, id, expectedVersion, current?.version ?? 0);

    const now = clock.now();
    if (!current) {
      const created = documents.insert(tenantId, { ...newStoredFields(key, tenantId, now), collection, data: cloneRecord(data) });
      return { ...created, id };
    }

    const history = histories.get(historyKey(tenantId, collection, id)) ?? [];
    history.push({ ...current, id });
    if (history.length > MAX_HISTORY_PER_DOCUMENT) history.splice(0, history.length - MAX_HISTORY_PER_DOCUMENT);
    histories.set(historyKey(tenantId, collection, id), history);

    const replaced = documents.replace(tenantId, { ...current, data: cloneRecord(data), version: current.version + 1, updatedAt: now.toISOString() });
    return { ...replaced, id };
  }

  return {
    async put(collection, id, data, options: WriteOptions = {}) {
      assertCollection(collection);
      assertId(id, "document id");
      assertData(data, collection, id);
      return write(collection, id, data, options.expectedVersion) as RepositoryDocument<typeof data>;
    },

    async get<T>(collection: string, id: string) {
      assertCollection(collection);
      assertId(id, "document id");
      const found = documents.get(currentTenantId(), storageKey(collection, id));
      return found ? ({ ...found, id } as unknown as RepositoryDocument<T>) : null;
    },

    /** Deletes the document and its history. */
    async delete(collection, id, options: WriteOptions = {}) {
      assertCollection(collection);
      assertId(id, "document id");
      const tenantId = currentTenantId();
      const key = storageKey(collection, id);
      const current = documents.get(tenantId, key);
      if (!current) {
        if (options.expectedVersion !== undefined) assertExpectedVersion(collection, id, options.expectedVersion, 0);
        return false;
      }
      assertExpectedVersion(collection, id, options.expectedVersion, current.version);
      histories.delete(historyKey(tenantId, collection, id));
      return documents.delete(tenantId, key);
    },

    /** Ordered by id. */
    async find<T>(collection: string, filter: FieldFilter, page: PageRequest = {}) {
      assertCollection(collection);
      assertPlainFilter(filter, { context: errorContext() });
      const matches = documents
        .filter(currentTenantId(), (document) => document.collection === collection && matchesFilter(document.data, filter))
        .map((document) => ({ ...document, id: document.id.slice(collection.length + 1) }));
      const result = paginate(matches, { scope: `repository:${collection}`, key: () => [], direction: "asc" }, page, errorContext());
      return result as unknown as { items: RepositoryDocument<T>[]; nextCursor: string | null };
    },

    async bulkPut(collection, rows) {
      assertCollection(collection);
      if (!Array.isArray(rows) || rows.length > MAX_BULK_DOCUMENTS) {
        throw new ValidationError(`Invalid bulkPut: expected an array of at most ${MAX_BULK_DOCUMENTS} documents. Split the documents into smaller calls.`, {
          ...errorContext(),
          details: { collection },
        });
      }
      const result: BulkResult = { inserted: 0, updated: 0, failed: [] };
      rows.forEach((row, index) => {
        const id = row !== null && typeof row === "object" ? (row as { id?: unknown }).id : undefined;
        try {
          assertId(id, "document id");
          assertData((row as { data?: unknown }).data, collection, id);
          const written = write(collection, id, (row as { data: Record<string, unknown> }).data, undefined);
          result[written.version === 1 ? "inserted" : "updated"] += 1;
        } catch (error) {
          if (!(error instanceof BridgeError)) throw error;
          result.failed.push({ index, key: typeof id === "string" ? id : undefined, code: error.code, message: error.message });
        }
      });
      return result;
    },

    async history<T>(collection: string, id: string) {
      assertCollection(collection);
      assertId(id, "document id");
      const history = histories.get(historyKey(currentTenantId(), collection, id)) ?? [];
      return history.map((document) => cloneRecord(document)).reverse() as unknown as RepositoryDocument<T>[];
    },
  };
}
