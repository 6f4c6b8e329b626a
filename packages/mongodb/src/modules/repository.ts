// Generic JSON documents: collection `<name>` lives in `repo_<name>`, and the
// versions each write replaces go to `repo_history`. Writing a history entry
// claims the step from version v to v+1 (its `_id` contains v), so of two
// writers racing from the same version exactly one goes on.
import {
  ValidationError,
  assertPlainFilter,
  cloneRecord,
  describeNonJson,
  isBridgeError,
  previewValue,
  type BulkResult,
  type FieldFilter,
  type PageRequest,
  type RepositoryDocument,
  type RepositoryModule,
  type WriteOptions,
} from "@bridge/core";
import { TenantCollection } from "../collection.js";
import { toMongoFilter } from "./datastore.js";
import { assertId, assertVersion, errorContext, newStoredFields, versionConflict, type ModuleContext } from "./shared.js";

/** Collection names: a letter, then letters, digits, `_`, `-` or `.`; MongoDB reserves the `system.` prefix. */
export const COLLECTION_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** Earlier versions kept per document; older ones are deleted after each write. */
export const MAX_HISTORY_PER_DOCUMENT = 50;

export const MAX_BULK_DOCUMENTS = 10_000;

/** Documents that bulkPut writes at the same time. */
const BULK_CONCURRENCY = 8;

/** Attempts of a put without expectedVersion that keeps losing races. */
const MAX_ATTEMPTS = 5;

type StoredDocument = RepositoryDocument<Record<string, unknown>>;

interface HistoryEntry extends StoredDocument {
  /** Id of the document this is a version of; `id` is the history entry's own. */
  documentId: string;
}

export function createRepository(context: ModuleContext): RepositoryModule {
  const { store, now } = context;
  const history = new TenantCollection<HistoryEntry>(store, "repo_history", "Document version");
  const collections = new Map<string, TenantCollection<StoredDocument>>();

  const indexed = new Map<string, Promise<void>>();

  /** Returns the collection of `collection`, creating its paging index on first use in this process. */
  async function documents(collection: string): Promise<TenantCollection<StoredDocument>> {
    let documentsOf = collections.get(collection);
    if (!documentsOf) {
      documentsOf = new TenantCollection<StoredDocument>(store, `repo_${collection}`, "Document");
      collections.set(collection, documentsOf);
    }
    let index = indexed.get(collection);
    if (!index) {
      const target = documentsOf;
      index = store
        .run(`Creating the index of ${target.name}`, async () => {
          await (await target.raw()).createIndex({ tenantId: 1, id: 1 }, { name: "tenant_id" });
        })
        .catch((error: unknown) => {
          indexed.delete(collection);
          throw error;
        });
      indexed.set(collection, index);
    }
    await index;
    return documentsOf;
  }

  function assertCollection(collection: unknown): asserts collection is string {
    if (typeof collection !== "string" || !COLLECTION_NAME_PATTERN.test(collection) || collection.startsWith("system.")) {
      throw new ValidationError(
        `Invalid collection name ${previewValue(collection)}: use 1 to 64 letters, digits, '_', '-' or '.', starting with a letter and not with "system.".`,
        { ...errorContext(store), details: { collection: previewValue(collection) } },
      );
    }
  }

  function assertData(data: unknown, collection: string, id: string): asserts data is Record<string, unknown> {
    const problem = data !== null && typeof data === "object" && !Array.isArray(data) ? describeNonJson(data, "data") : "data is not a JSON object";
    if (problem) {
      throw new ValidationError(`Invalid document "${id}" in collection "${collection}": ${problem}. Store plain JSON objects only.`, {
        ...errorContext(store),
        details: { collection, id, problem },
      });
    }
  }

  /** "Expected version 0" asks for a document that does not exist yet, so `put` with it only creates. */
  function assertExpectedVersion(collection: string, id: string, expected: unknown, actual: number): void {
    if (expected !== undefined && (typeof expected !== "number" || !Number.isSafeInteger(expected) || expected < 0)) {
      throw new ValidationError(`Invalid expectedVersion ${previewValue(expected)}: expected an integer from 0 up (0 means the document must not exist).`, {
        ...errorContext(store),
        details: { collection, id },
      });
    }
    assertVersion(store, "Document", `${collection}/${id}`, expected as number | undefined, actual);
  }

  /** Writes one document as the next version; see the file header for how races resolve. */
  async function write(collection: string, id: string, data: Record<string, unknown>, expectedVersion: number | undefined): Promise<StoredDocument> {
    const target = await documents(collection);
    return store.exclusive(`${target.name}/${target.key(id)}`, async () => {
      for (let attempt = 1; ; attempt++) {
        const current = await target.findById(id);
        assertExpectedVersion(collection, id, expectedVersion, current?.version ?? 0);
        const retry = expectedVersion === undefined && attempt < MAX_ATTEMPTS;
        const at = now();

        if (!current) {
          try {
            return await target.insert({ ...newStoredFields(id, target.tenantId, at), collection, data: cloneRecord(data) });
          } catch (error) {
            if (isBridgeError(error, "DUPLICATE_KEY") && retry) continue;
            if (isBridgeError(error, "DUPLICATE_KEY")) throw versionConflict(store, "Document", `${collection}/${id}`, expectedVersion ?? 0, null);
            throw error;
          }
        }

        try {
          await history.insert({ ...current, id: `${id}@${current.version}`, documentId: id }, [collection, id, String(current.version)]);
        } catch (error) {
          if (!isBridgeError(error, "DUPLICATE_KEY")) throw error;
          if (retry) continue;
          throw versionConflict(store, "Document", `${collection}/${id}`, expectedVersion ?? current.version, null);
        }

        const next: StoredDocument = { ...current, data: cloneRecord(data), version: current.version + 1, updatedAt: at.toISOString() };
        if (!(await target.replaceWhere(target.key(id), { version: current.version }, (record) => record.version === current.version, next))) {
          throw versionConflict(store, "Document", `${collection}/${id}`, current.version, null);
        }
        await history.deleteMany({ collection, documentId: id, version: { $lte: next.version - 1 - MAX_HISTORY_PER_DOCUMENT } });
        return next;
      }
    });
  }

  return {
    async put(collection, id, data, options: WriteOptions = {}) {
      assertCollection(collection);
      assertId(store, id, "document id");
      assertData(data, collection, id);
      return (await write(collection, id, data, options.expectedVersion)) as RepositoryDocument<typeof data>;
    },

    async get<T>(collection: string, id: string) {
      assertCollection(collection);
      assertId(store, id, "document id");
      return (await (await documents(collection)).findById(id)) as RepositoryDocument<T> | null;
    },

    /** Deletes the document and its history. */
    async delete(collection, id, options: WriteOptions = {}) {
      assertCollection(collection);
      assertId(store, id, "document id");
      const target = await documents(collection);
      return store.exclusive(`${target.name}/${target.key(id)}`, async () => {
        const current = await target.findById(id);
        assertExpectedVersion(collection, id, options.expectedVersion, current?.version ?? 0);
        if (!current) return false;

        const deleted =
          options.expectedVersion === undefined
            ? await target.deleteOne({ _id: target.key(id) })
            : await target.deleteWhere(target.key(id), { version: current.version }, (record) => record.version === current.version);
        if (!deleted && options.expectedVersion !== undefined) throw versionConflict(store, "Document", `${collection}/${id}`, options.expectedVersion, null);
        await history.deleteMany({ collection, documentId: id });
        return deleted;
      });
    },

    /** Ordered by id. */
    async find<T>(collection: string, filter: FieldFilter, page: PageRequest = {}) {
      assertCollection(collection);
      assertPlainFilter(filter, { context: errorContext(store) });
      const result = await (await documents(collection)).page(toMongoFilter(filter, "data."), { scope: `repository:${collection}`, fields: [], direction: "asc" }, page);
      return result as unknown as { items: RepositoryDocument<T>[]; nextCursor: string | null };
    },

    /**
     * Writes the documents, BULK_CONCURRENCY at a time; rows with the same id
     * are written in their order. A bad row is reported and the others are
     * still written.
     */
    async bulkPut(collection, rows) {
      assertCollection(collection);
      if (!Array.isArray(rows) || rows.length > MAX_BULK_DOCUMENTS) {
        throw new ValidationError(`Invalid bulkPut: expected an array of at most ${MAX_BULK_DOCUMENTS} documents. Split the documents into smaller calls.`, {
          ...errorContext(store),
          details: { collection },
        });
      }
      const result: BulkResult = { inserted: 0, updated: 0, failed: [] };
      const groups = new Map<string, Array<{ index: number; row: unknown }>>();
      for (const [index, row] of rows.entries()) {
        const id = row !== null && typeof row === "object" ? (row as { id?: unknown }).id : undefined;
        try {
          assertId(store, id, "document id");
          assertData((row as { data?: unknown }).data, collection, id);
          groups.set(id, [...(groups.get(id) ?? []), { index, row }]);
        } catch (error) {
          if (!isBridgeError(error)) throw error;
          result.failed.push({ index, key: typeof id === "string" ? id : undefined, code: error.code, message: error.message });
        }
      }

      const queue = [...groups.entries()];
      const worker = async (): Promise<void> => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const [id, entries] = next;
          for (const { index, row } of entries) {
            try {
              const written = await write(collection, id, (row as { data: Record<string, unknown> }).data, undefined);
              result[written.version === 1 ? "inserted" : "updated"] += 1;
            } catch (error) {
              if (!isBridgeError(error)) throw error;
              result.failed.push({ index, key: id, code: error.code, message: error.message });
            }
          }
        }
      };
      await Promise.all(Array.from({ length: BULK_CONCURRENCY }, worker));
      result.failed.sort((a, b) => a.index - b.index);
      return result;
    },

    /** Earlier versions, newest first. */
    async history<T>(collection: string, id: string) {
      assertCollection(collection);
      assertId(store, id, "document id");
      const entries = await history.find({ collection, documentId: id }, { sort: { version: -1 } });
      return entries.map(({ documentId, ...entry }) => ({ ...entry, id: documentId })) as unknown as RepositoryDocument<T>[];
    },
  };
}
