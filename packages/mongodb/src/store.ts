// One MongoClient per integration: connects on first use, detects what the
// server supports, creates indexes, maps driver errors, retries idempotent
// calls and serializes read-then-write updates where the server needs it.
import { randomUUID } from "node:crypto";
import { TimeoutError, UnavailableError, createResiliencePolicy, type HealthReport, type Logger, type ResiliencePolicy, type RoleName } from "@bridge/core";
import { MongoClient, type Collection, type Db, type Document } from "mongodb";
import { contextFor, isConnectionFailure, isDuplicateKey, toBridgeError } from "./errors.js";
import { ensureIndexes, type IndexReport } from "./indexes.js";
import { maskUri, type ResolvedOptions } from "./options.js";

export interface ServerInfo {
  /** "ferretdb" when buildInfo names FerretDB, else "mongodb". */
  kind: "mongodb" | "ferretdb";
  version: string;
  replicaSet: string | null;
  sharded: boolean;
  sessions: boolean;
}

export interface MongoCapabilities {
  /** Multi-document transactions: a replica set or sharded cluster of MongoDB with sessions. */
  transactions: boolean;
  /** Change streams: the same deployments as transactions. */
  changeStreams: boolean;
  /** `$text` queries over a text index; otherwise title search falls back to an escaped regex. */
  textSearch: boolean;
  /** TTL indexes; otherwise a periodic deleteMany removes old log entries. */
  ttlIndexes: boolean;
  /** Whether a conditional update is atomic on the server; false on FerretDB 1.x. */
  atomicUpdates: boolean;
  persistent: boolean;
}

const UNKNOWN_CAPABILITIES: MongoCapabilities = {
  transactions: false,
  changeStreams: false,
  textSearch: false,
  ttlIndexes: false,
  atomicUpdates: true,
  persistent: true,
};

const LOCKS_COLLECTION = "bridge_locks";
const FERRETDB_MAX_UPDATES_PER_COMMAND = 50;

interface LockDocument {
  _id: string;
  token: string;
  expiresAt: Date;
}

export interface RunOptions {
  /** Safe to send twice: reads, and writes keyed so that a repeat changes nothing. Only these are retried. */
  idempotent?: boolean;
  role?: RoleName;
}

const silentLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  child() {
    return silentLogger;
  },
};

export class MongoStore {
  readonly options: ResolvedOptions;
  logger: Logger = silentLogger;
  server: ServerInfo | null = null;
  capabilities: MongoCapabilities = { ...UNKNOWN_CAPABILITIES };
  indexReport: IndexReport | null = null;

  #client: MongoClient | null = null;
  #connecting: Promise<Db> | null = null;
  #closed = false;
  readonly #retry: ResiliencePolicy;
  readonly #localLocks = new Map<string, Promise<void>>();

  constructor(options: ResolvedOptions) {
    this.options = options;
    // Retries cover a connection dropped during a call. A failed server
    // selection is not retried: it already waited serverSelectionTimeoutMs.
    this.#retry = createResiliencePolicy({
      name: `${options.name} call`,
      role: "data",
      integration: options.name,
      retries: 2,
      backoff: { initialMs: 50, maxMs: 500 },
      isRetryable: (error) => isConnectionFailure(error) && (error as Error).name !== "MongoServerSelectionError",
    });
  }

  get name(): string {
    return this.options.name;
  }

  get maskedUri(): string {
    return maskUri(this.options.uri);
  }

  /**
   * Largest number of updates, replaces or deletes sent in one command.
   * FerretDB 1.24 never responded to an update command of 100 statements in a
   * probe here (99 took 120 ms), so bulk writes to it go in smaller commands.
   */
  get maxUpdatesPerCommand(): number {
    return this.server?.kind === "ferretdb" ? FERRETDB_MAX_UPDATES_PER_COMMAND : 1000;
  }

  /** Whether read-then-write updates take a lease in `bridge_locks` first. */
  get locksEnabled(): boolean {
    if (this.options.documentLocks === "on") return true;
    if (this.options.documentLocks === "off") return false;
    return !this.capabilities.atomicUpdates;
  }

  /** Connects once; later calls share the same promise. Detects capabilities and creates indexes. */
  connect(): Promise<Db> {
    if (this.#closed) {
      return Promise.reject(
        new UnavailableError(`${this.name} was stopped; create a new integration to connect again.`, contextFor(this.name)),
      );
    }
    if (!this.#connecting) {
      this.#connecting = this.#open().catch((error: unknown) => {
        this.#connecting = null;
        const client = this.#client;
        this.#client = null;
        void client?.close().catch(() => undefined);
        throw toBridgeError(error, `Connecting to ${this.name}`, contextFor(this.name), this.options.uri);
      });
    }
    return this.#connecting;
  }

  async #open(): Promise<Db> {
    const options = this.options;
    const client = new MongoClient(options.uri, {
      maxPoolSize: options.maxPoolSize,
      minPoolSize: options.minPoolSize,
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs,
      connectTimeoutMS: options.connectTimeoutMs,
      readPreference: options.readPreference,
      readConcern: { level: options.readConcern },
      writeConcern: { w: options.writeConcern },
      retryWrites: true,
      retryReads: true,
      ignoreUndefined: true,
      appName: `bridge-${options.name}`,
      ...(options.authSource === undefined ? {} : { authSource: options.authSource }),
      ...(options.username === undefined ? {} : { auth: { username: options.username, password: options.password } }),
    });
    this.#client = client;

    await client.connect();
    const db = client.db(options.database);
    this.server = await detectServer(db);
    this.capabilities = {
      ...this.capabilities,
      transactions: this.server.kind === "mongodb" && this.server.sessions && (this.server.replicaSet !== null || this.server.sharded),
      changeStreams: this.server.kind === "mongodb" && (this.server.replicaSet !== null || this.server.sharded),
      atomicUpdates: this.server.kind === "mongodb",
    };

    this.indexReport = await ensureIndexes(db, { logsTtlSeconds: options.logsTtlDays * 86_400, logger: this.logger });
    this.capabilities.textSearch = this.indexReport.textSearch;
    this.capabilities.ttlIndexes = this.indexReport.ttlIndexes;

    this.logger.info("connected to MongoDB", {
      uri: this.maskedUri,
      database: options.database,
      server: this.server,
      capabilities: this.capabilities,
      documentLocks: this.locksEnabled,
    });
    return db;
  }

  async collection<T extends Document>(name: string): Promise<Collection<T>> {
    const db = await this.connect();
    return db.collection<T>(name);
  }

  /**
   * Runs one driver call and maps what it throws to a BridgeError. Idempotent
   * calls are retried after a dropped connection; the rest are not, so a
   * write is never applied twice.
   */
  async run<T>(operation: string, fn: () => Promise<T>, options: RunOptions = {}): Promise<T> {
    const context = contextFor(this.name, options.role ?? "data");
    try {
      if (options.idempotent) return await this.#retry.execute(() => fn());
      return await fn();
    } catch (error) {
      throw toBridgeError(error, operation, context, this.options.uri);
    }
  }

  /**
   * Runs `fn` while holding the document lock named `key`, when locks are on
   * (see DocumentLocks); otherwise runs it directly. Callers in the same
   * process queue on a local mutex first, so only one of them at a time
   * competes for the server lease. `shortcut`, when given, runs after the
   * local mutex and before the lease. A result other than undefined is
   * returned at once, so a call that is bound to fail skips the lease.
   */
  async exclusive<T>(key: string, fn: () => Promise<T>, shortcut?: () => Promise<T | undefined>): Promise<T> {
    if (!this.#connecting) await this.connect();
    await this.#connecting;
    if (!this.locksEnabled) return fn();
    return this.#withLocalLock(key, async () => {
      const early = shortcut ? await shortcut() : undefined;
      if (early !== undefined) return early;
      const token = await this.#acquireLease(key);
      try {
        return await fn();
      } finally {
        await this.#releaseLease(key, token);
      }
    });
  }

  async #withLocalLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#localLocks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const chained = previous.then(() => current);
    this.#localLocks.set(key, chained);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#localLocks.get(key) === chained) this.#localLocks.delete(key);
    }
  }

  async #acquireLease(key: string): Promise<string> {
    const locks = await this.collection<LockDocument>(LOCKS_COLLECTION);
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const token = randomUUID();
      const now = Date.now();
      try {
        await locks.insertOne({ _id: key, token, expiresAt: new Date(now + this.options.lockLeaseMs) });
        return token;
      } catch (error) {
        if (!isDuplicateKey(error)) throw toBridgeError(error, `Locking ${key}`, contextFor(this.name), this.options.uri);
      }

      const holder = await this.run(`Reading lock ${key}`, () => locks.findOne({ _id: key }), { idempotent: true });
      if (holder && holder.expiresAt.getTime() < now) {
        // NOTE: a holder that runs past its lease loses the lock while still writing; keep writes far shorter than lockLeaseMs.
        this.logger.warn("taking over an expired document lock", { lock: key, expiredAt: holder.expiresAt.toISOString() });
        await this.run(`Taking over lock ${key}`, () => locks.deleteOne({ _id: key, token: holder.token }));
        continue;
      }

      if (now - started > this.options.lockWaitMs) {
        throw new TimeoutError(
          `Waited ${now - started} ms for the document lock "${key}" in ${this.options.database}.${LOCKS_COLLECTION} without getting it. ` +
            "Another writer has it. Retry later, or raise lockWaitMs if writes to this record are this contended.",
          { ...contextFor(this.name), details: { lock: key, waitedMs: now - started } },
        );
      }
      const backoff = Math.min(2 ** Math.min(attempt, 5), 25);
      await sleep(backoff * (0.5 + Math.random()));
    }
  }

  async #releaseLease(key: string, token: string): Promise<void> {
    const locks = await this.collection<LockDocument>(LOCKS_COLLECTION);
    try {
      await this.run(`Unlocking ${key}`, () => locks.deleteOne({ _id: key, token }), { idempotent: true });
    } catch (error) {
      // The lease expires on its own, so a failed unlock only delays the next writer.
      this.logger.warn("failed to release a document lock; it expires after lockLeaseMs", { lock: key, err: error });
    }
  }

  /** Pings the server: down when unreachable, degraded when slow or not writable, up otherwise. */
  async health(): Promise<HealthReport> {
    const detail: Record<string, unknown> = { uri: this.maskedUri, database: this.options.database };
    const started = performance.now();
    try {
      const db = await this.connect();
      const hello = await db.admin().command({ hello: 1 });
      const latencyMs = Math.round(performance.now() - started);
      const writable = hello.isWritablePrimary === true || hello.ismaster === true || hello.msg === "isdbgrid";
      const slow = latencyMs > this.options.degradedLatencyMs;
      const status = !writable || slow ? "degraded" : "up";
      return {
        status,
        latencyMs,
        detail: {
          ...detail,
          server: this.server,
          capabilities: this.capabilities,
          documentLocks: this.locksEnabled,
          ...(writable ? {} : { reason: "the server is not a writable primary" }),
          ...(slow ? { reason: `round trip took ${latencyMs} ms, above ${this.options.degradedLatencyMs} ms` } : {}),
        },
      };
    } catch (error) {
      const mapped = toBridgeError(error, `Health check of ${this.name}`, contextFor(this.name), this.options.uri);
      return { status: "down", latencyMs: Math.round(performance.now() - started), detail: { ...detail, error: mapped.message } };
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = null;
    this.#connecting = null;
    if (client) await client.close();
  }
}

async function detectServer(db: Db): Promise<ServerInfo> {
  const admin = db.admin();
  const hello = await admin.command({ hello: 1 });
  const build = await admin.command({ buildInfo: 1 });
  const ferret = Object.keys(build).some((key) => key.toLowerCase().includes("ferretdb"));
  return {
    kind: ferret ? "ferretdb" : "mongodb",
    version: String(ferret ? (build.ferretdbVersion ?? build.version) : build.version),
    replicaSet: typeof hello.setName === "string" ? hello.setName : null,
    sharded: hello.msg === "isdbgrid",
    sessions: typeof hello.logicalSessionTimeoutMinutes === "number",
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Builds a string `_id` from the tenant and the record's key parts. Each
 * part is URI-encoded and joined with "/", so no two tenants or keys can
 * produce the same `_id`.
 */
export function docKey(tenantId: string, ...parts: string[]): string {
  return [tenantId, ...parts].map((part) => encodeURIComponent(part)).join("/");
}
