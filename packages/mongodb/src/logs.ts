// The logs role's sink: entries in `logs`, and error and fatal entries also in
// `error_logs`. Each entry's id is its `_id`, so a batch that the logs facade
// sends again after a failure inserts nothing twice. Old entries go by a TTL
// index, or by a periodic deleteMany on servers without TTL indexes.
import {
  BridgeError,
  LOG_LEVELS,
  ValidationError,
  levelRank,
  previewValue,
  type LogEntry,
  type LogLevel,
  type LogQuery,
  type LogSink,
  type LogSinkCapabilities,
  type LogSubscription,
} from "@bridge/core";
import type { ChangeStream, Document, Filter } from "mongodb";
import { contextFor, isDuplicateKey } from "./errors.js";
import { escapeRegex } from "./modules/shared.js";
import type { MongoStore } from "./store.js";

type StoredEntry = Omit<LogEntry, "timestamp" | "id"> & { _id: string; timestamp: Date };

export const DEFAULT_QUERY_LIMIT = 100;
export const MAX_QUERY_LIMIT = 10_000;

const ERROR_LEVELS: readonly LogLevel[] = ["error", "fatal"];

export interface MongoLogSink extends LogSink {
  /** Deletes entries older than the TTL; returns how many. The periodic cleanup calls it on servers without TTL indexes. */
  cleanup(now?: Date): Promise<number>;
  /** Starts the periodic cleanup when the server has no TTL index. */
  startCleanup(): void;
  stopCleanup(): void;
}

function toStored(entry: LogEntry): StoredEntry {
  const { id, timestamp, ...rest } = entry;
  return { ...rest, _id: id, timestamp: new Date(timestamp) };
}

function toEntry(document: StoredEntry): LogEntry {
  const { _id, timestamp, ...rest } = document;
  return { id: _id, timestamp: timestamp.toISOString(), ...rest } as LogEntry;
}

export function createLogSink(store: MongoStore): MongoLogSink {
  let timer: NodeJS.Timeout | null = null;
  const ttlMs = store.options.logsTtlDays * 86_400_000;

  const context = () => contextFor(store.name, "logs");

  async function insert(collectionName: string, documents: StoredEntry[]): Promise<void> {
    if (documents.length === 0) return;
    const collection = await store.collection<StoredEntry>(collectionName);
    try {
      await collection.insertMany(documents, { ordered: false });
    } catch (error) {
      // Entries sent again after an earlier failure already exist; only other errors count.
      const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
      if (isDuplicateKey(error)) return;
      if (writeErrors === undefined) throw error;
      const list = Array.isArray(writeErrors) ? writeErrors : [writeErrors];
      if (list.every((entry: { code?: number }) => entry.code === 11000)) return;
      throw error;
    }
  }

  function assertQuery(query: LogQuery): void {
    const problems: string[] = [];
    const checkLevel = (level: unknown, label: string) => {
      if (!LOG_LEVELS.includes(level as LogLevel)) problems.push(`${label} ${previewValue(level)} is not one of ${LOG_LEVELS.join(", ")}`);
    };
    if (query.levels !== undefined) {
      if (!Array.isArray(query.levels)) problems.push("levels must be an array");
      else query.levels.forEach((level, index) => checkLevel(level, `levels[${index}]`));
    }
    if (query.minLevel !== undefined) checkLevel(query.minLevel, "minLevel");
    for (const field of ["from", "to"] as const) {
      const value = query[field];
      if (value !== undefined && Number.isNaN(new Date(value as string).getTime())) problems.push(`${field} ${previewValue(value)} is not a date`);
    }
    for (const field of ["text", "workerId", "tenantId"] as const) {
      const value = query[field];
      if (value !== undefined && (typeof value !== "string" || value.length > 1000)) problems.push(`${field} must be a string of at most 1000 characters, got ${previewValue(value)}`);
    }
    if (query.limit !== undefined && (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_QUERY_LIMIT)) {
      problems.push(`limit ${previewValue(query.limit)} must be an integer from 1 to ${MAX_QUERY_LIMIT}`);
    }
    if (problems.length > 0) {
      throw new ValidationError(`Invalid log query: ${problems.join("; ")}.`, { ...context(), details: { problems } });
    }
  }

  async function subscribe(handler: (entry: LogEntry) => void, options: { levels?: LogLevel[]; from?: Date | string } = {}): Promise<LogSubscription> {
    await store.connect();
    if (!store.capabilities.changeStreams) {
      throw new BridgeError(
        `Log subscriptions on ${store.name} need MongoDB change streams, which this server (${store.server?.kind ?? "unknown"} ${store.server?.version ?? ""}) does not offer. Run MongoDB as a replica set, or subscribe through another logs provider.`,
        { ...context(), code: "NOT_SUPPORTED", details: { server: store.server } },
      );
    }
    const levels = options.levels;
    const match: Document = { operationType: "insert" };
    if (levels !== undefined) match["fullDocument.level"] = { $in: levels };
    const collection = await store.collection<StoredEntry>("logs");
    // NOTE: only tested against servers without change streams; the replica-set path has no test in this repository.
    const stream: ChangeStream = collection.watch([{ $match: match }]);
    if (options.from !== undefined) {
      // Stored entries since `from` first, oldest first; an entry written while they are read may arrive twice.
      const earlier = await sink.query?.({ from: options.from, ...(levels === undefined ? {} : { levels }), limit: MAX_QUERY_LIMIT });
      for (const entry of (earlier ?? []).reverse()) handler(entry);
    }
    stream.on("change", (change: Document) => {
      const document = change.fullDocument as StoredEntry | undefined;
      if (document) handler(toEntry(document));
    });
    stream.on("error", (error: unknown) => store.logger.warn("log subscription change stream failed", { err: error }));
    const subscription: LogSubscription = {
      async close() {
        await stream.close();
      },
    };
    return subscription;
  }

  const sink: MongoLogSink = {
    name: store.name,

    get capabilities(): LogSinkCapabilities {
      return { query: true, subscribe: store.capabilities.changeStreams, persistent: true };
    },

    async write(entries) {
      if (entries.length === 0) return;
      const documents = entries.map(toStored);
      await store.run(
        `Writing ${entries.length} log entries`,
        async () => {
          await insert("logs", documents);
          await insert(
            "error_logs",
            documents.filter((entry) => ERROR_LEVELS.includes(entry.level)),
          );
        },
        { idempotent: true, role: "logs" },
      );
    },

    /** Newest first. `text` matches the message case-insensitively as plain text, never as a pattern. */
    async query(query = {}) {
      assertQuery(query);
      const filter: Document = {};
      const levels = new Set<LogLevel>(query.levels ?? LOG_LEVELS);
      if (query.minLevel !== undefined) {
        const min = levelRank(query.minLevel);
        for (const level of [...levels]) if (levelRank(level) < min) levels.delete(level);
      }
      if (levels.size < LOG_LEVELS.length) filter.level = { $in: [...levels] };
      const timestamp: Document = {};
      if (query.from !== undefined) timestamp.$gte = new Date(query.from);
      if (query.to !== undefined) timestamp.$lt = new Date(query.to);
      if (Object.keys(timestamp).length > 0) filter.timestamp = timestamp;
      if (query.text !== undefined) filter.message = { $regex: escapeRegex(query.text), $options: "i" };
      if (query.workerId !== undefined) filter.workerId = query.workerId;
      if (query.tenantId !== undefined) filter.tenantId = query.tenantId;

      const collection = await store.collection<StoredEntry>("logs");
      const rows = await store.run(
        "Querying logs",
        () => collection.find(filter).sort({ timestamp: -1, _id: -1 }).limit(query.limit ?? DEFAULT_QUERY_LIMIT).toArray(),
        { idempotent: true, role: "logs" },
      );
      return rows.map((row) => toEntry(row as StoredEntry));
    },

    /**
     * Streams new entries through a change stream. Present only while the
     * server offers change streams (a replica set or sharded MongoDB, known
     * after start), so `typeof sink.subscribe` matches the declared capability.
     */
    get subscribe() {
      return store.capabilities.changeStreams ? subscribe : undefined;
    },

    async flush() {},

    async close() {
      sink.stopCleanup();
    },

    async cleanup(now = new Date()) {
      const cutoff = new Date(now.getTime() - ttlMs);
      let deleted = 0;
      for (const name of ["logs", "error_logs"]) {
        const collection = await store.collection<StoredEntry>(name);
        const result = await store.run(`Deleting log entries before ${cutoff.toISOString()}`, () => collection.deleteMany({ timestamp: { $lt: cutoff } }), {
          idempotent: true,
          role: "logs",
        });
        deleted += result.deletedCount;
      }
      return deleted;
    },

    startCleanup() {
      if (timer !== null || store.capabilities.ttlIndexes) return;
      timer = setInterval(() => {
        sink.cleanup().then(
          (deleted) => {
            if (deleted > 0) store.logger.info("deleted log entries older than the TTL", { deleted, ttlDays: store.options.logsTtlDays });
          },
          (error: unknown) => store.logger.warn("log cleanup failed; it runs again at the next interval", { err: error }),
        );
      }, store.options.logsCleanupIntervalMs);
      timer.unref();
    },

    stopCleanup() {
      if (timer !== null) clearInterval(timer);
      timer = null;
    },
  };
  return sink;
}
