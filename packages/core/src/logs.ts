/**
 * The logs facade that applications call. It builds entries with the tenant
 * and correlation id of the current context, redacts secrets, batches, and
 * fans each batch out to every sink. A sink that fails gets its entries again
 * later, and meanwhile they go to the fallback sink.
 */
import { randomUUID } from "node:crypto";
import { BridgeError, serializeError, TimeoutError, ValidationError, type SerializedError } from "./errors.js";
import { createMemoryLogSink } from "./embedded/log-sink.js";
import {
  LOG_LEVELS,
  levelRank,
  type LogEntry,
  type Logger,
  type LogLevel,
  type LogQuery,
  type LogSink,
  type LogSinkCapabilities,
  type LogsRole,
  type LogSubscription,
} from "./roles/logs.js";
import { currentContext } from "./tenant.js";

export interface LogsOptions {
  /** Every batch goes to each of these sinks. */
  sinks: LogSink[];
  /** Receives the entries a sink failed to store. Default: an in-memory sink of 1000 entries that prints to stderr. */
  fallback?: LogSink;
  /** Dot paths inside `fields` whose values become "[REDACTED]". A `*` matches any one key or array index, as in "customer.*.email". */
  redactPaths?: string[];
  /** Entries per batch. A full batch is written at once. Default 100. */
  batchSize?: number;
  /** Time in ms after which a partial batch is written, and failed sinks are retried. Default 1000. */
  flushIntervalMs?: number;
  /** Entries below this level are dropped. Default "info". */
  minLevel?: LogLevel;
  /** `source` of entries whose logger does not bind one. */
  source?: string;
  /** Clock in epoch ms, for tests. Default `Date.now`. */
  now?: () => number;
  /** Maximum entries kept per failing sink for re-sending. Beyond it the oldest are dropped and counted. Default 10 000. */
  maxPendingPerSink?: number;
  /** Time in ms a sink write may take before it counts as failed. Default 10 000. */
  writeTimeoutMs?: number;
}

export const REDACTED = "[REDACTED]";

// Keys whose value is redacted wherever they appear, compared after splitting
// camelCase, snake_case and kebab-case into lower-case words.
const SECRET_WORDS = new Set([
  "password",
  "passwd",
  "passphrase",
  "secret",
  "token",
  "authorization",
  "cookie",
  "credential",
  "credentials",
  "apikey",
]);
const SECRET_WORD_PAIRS = new Set(["api key", "private key", "access key", "session id", "set cookie"]);
const MAX_DEPTH = 10;
// Minimum interval between warnings that report how many entries a failing sink has lost.
const DROP_WARNING_INTERVAL_MS = 60_000;

interface SinkState {
  sink: LogSink;
  /** Entries the sink failed to store, oldest first, waiting to be re-sent. */
  pending: LogEntry[];
  failing: boolean;
  dropped: number;
  droppedSinceWarning: number;
  lastDropWarningAt: number;
}

type Bindings = Record<string, unknown>;

/** Creates the logs role over `options.sinks`. Logging calls never throw. */
export function createLogs(options: LogsOptions): LogsRole {
  validateLogsOptions(options);

  const batchSize = options.batchSize ?? 100;
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  const minRank = levelRank(options.minLevel ?? "info");
  const now = options.now ?? Date.now;
  const maxPending = options.maxPendingPerSink ?? 10_000;
  const writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
  const fallback = options.fallback ?? createMemoryLogSink({ capacity: 1000, stderr: true });
  const redactPaths = (options.redactPaths ?? []).map((path) => path.split("."));
  const states: SinkState[] = (options.sinks.length > 0 ? options.sinks : [fallback]).map((sink) => ({
    sink,
    pending: [],
    failing: false,
    dropped: 0,
    droppedSinceWarning: 0,
    lastDropWarningAt: 0,
  }));

  let buffer: LogEntry[] = [];
  let flushChain: Promise<void> = Promise.resolve();
  let closed = false;

  const timer = setInterval(() => {
    if (buffer.length > 0 || states.some((state) => state.pending.length > 0)) {
      void flush();
    }
  }, flushIntervalMs);
  timer.unref();

  function log(level: LogLevel, message: string, fields: Bindings | undefined, bindings: Bindings): void {
    try {
      if (levelRank(level) < minRank) {
        return;
      }
      const entry = buildEntry(level, message, fields, bindings);
      if (closed) {
        void writeToFallback([entry]);
        return;
      }
      buffer.push(entry);
      if (buffer.length >= batchSize) {
        void flush();
      }
    } catch (error) {
      reportInternal("A log entry could not be built", error);
    }
  }

  function buildEntry(level: LogLevel, message: string, fields: Bindings | undefined, bindings: Bindings): LogEntry {
    const context = currentContext();
    const { source, workerId, tenantId, correlationId, ...boundFields } = bindings;
    const merged: Bindings = { ...boundFields, ...fields };
    const err = merged["err"];
    delete merged["err"];

    const entry: LogEntry = {
      id: randomUUID(),
      timestamp: new Date(now()).toISOString(),
      level,
      message: typeof message === "string" ? message : String(message),
    };
    const entryTenant = typeof tenantId === "string" ? tenantId : context.tenantId;
    const entryCorrelation = typeof correlationId === "string" ? correlationId : context.correlationId;
    const entrySource = typeof source === "string" ? source : options.source;
    if (entryTenant !== undefined) entry.tenantId = entryTenant;
    if (entryCorrelation !== undefined) entry.correlationId = entryCorrelation;
    if (entrySource !== undefined) entry.source = entrySource;
    if (typeof workerId === "string") entry.workerId = workerId;
    if (Object.keys(merged).length > 0) {
      entry.fields = redactFields(merged, redactPaths);
    }
    if (err !== undefined) {
      entry.error = redactError(serializeError(err));
    }
    return entry;
  }

  function flush(): Promise<void> {
    flushChain = flushChain.then(flushOnce).catch((error) => reportInternal("Flushing log entries failed", error));
    return flushChain;
  }

  async function flushOnce(): Promise<void> {
    const batch = buffer;
    buffer = [];
    const stored = await Promise.all(states.map((state) => deliver(state, batch)));
    // The fallback gets a batch once, however many sinks failed to store it.
    if (batch.length > 0 && stored.some((ok) => !ok)) {
      await writeToFallback(batch);
    }
  }

  /** Writes the pending entries and then `batch` to one sink. Returns false when `batch` did not reach it. */
  async function deliver(state: SinkState, batch: LogEntry[]): Promise<boolean> {
    if (state.pending.length > 0) {
      const resend = state.pending;
      try {
        await writeWithTimeout(state.sink, resend);
        state.pending = state.pending.slice(resend.length);
        recovered(state, resend.length);
      } catch {
        addPending(state, batch);
        warnAboutDrops(state, false);
        return batch.length === 0;
      }
    }
    if (batch.length === 0) {
      return true;
    }

    try {
      await writeWithTimeout(state.sink, batch);
      if (state.failing) {
        recovered(state, 0);
      }
      return true;
    } catch (error) {
      if (!state.failing) {
        state.failing = true;
        warn(
          `Log sink "${state.sink.name}" failed to write ${batch.length} entries; they go to the fallback sink "${fallback.name}" and are re-sent when the sink recovers`,
          {
            sink: state.sink.name,
            err: error,
          },
        );
      }
      addPending(state, batch);
      warnAboutDrops(state, false);
      return false;
    }
  }

  function addPending(state: SinkState, entries: LogEntry[]): void {
    state.pending.push(...entries);
    const excess = state.pending.length - maxPending;
    if (excess > 0) {
      state.pending.splice(0, excess);
      state.dropped += excess;
      state.droppedSinceWarning += excess;
    }
  }

  function recovered(state: SinkState, resent: number): void {
    state.failing = false;
    warnAboutDrops(state, true);
    info(`Log sink "${state.sink.name}" recovered; re-sent ${resent} entries`, { sink: state.sink.name, resent, dropped: state.dropped });
  }

  function warnAboutDrops(state: SinkState, force: boolean): void {
    if (state.droppedSinceWarning === 0) {
      return;
    }
    if (!force && now() - state.lastDropWarningAt < DROP_WARNING_INTERVAL_MS) {
      return;
    }
    warn(
      `Log sink "${state.sink.name}" lost ${state.droppedSinceWarning} entries (${state.dropped} in total) because its re-send buffer of ${maxPending} entries is full; they remain only in the fallback sink "${fallback.name}"`,
      { sink: state.sink.name, dropped: state.droppedSinceWarning, droppedTotal: state.dropped, maxPendingPerSink: maxPending },
    );
    state.droppedSinceWarning = 0;
    state.lastDropWarningAt = now();
  }

  // Messages about the facade itself go through the normal batch, so sinks that work receive them too.
  function warn(message: string, fields: Bindings): void {
    log("warn", message, fields, { source: "logs" });
  }

  function info(message: string, fields: Bindings): void {
    log("info", message, fields, { source: "logs" });
  }

  async function writeToFallback(entries: LogEntry[]): Promise<void> {
    try {
      await writeWithTimeout(fallback, entries);
    } catch (error) {
      reportInternal(`Fallback log sink "${fallback.name}" failed too; printing ${entries.length} entries to stderr`, error);
      for (const entry of entries) {
        printLine(entry);
      }
    }
  }

  function writeWithTimeout(sink: LogSink, entries: LogEntry[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => {
        reject(
          new TimeoutError(`Log sink "${sink.name}" did not finish writing ${entries.length} entries within ${writeTimeoutMs} ms`, {
            role: "logs",
            integration: sink.name,
          }),
        );
      }, writeTimeoutMs);
      timeout.unref();
      Promise.resolve()
        .then(() => sink.write(entries))
        .then(resolve, reject)
        .finally(() => clearTimeout(timeout));
    });
  }

  function firstSinkWith(capability: "query" | "subscribe"): LogSink {
    const sink = states
      .map((state) => state.sink)
      .find((candidate) => candidate.capabilities[capability] && typeof candidate[capability] === "function");
    if (sink === undefined) {
      const names = states.map((state) => `"${state.sink.name}"`).join(", ");
      throw new BridgeError(
        `None of the configured log sinks (${names}) supports ${capability}: add a sink that does, such as the embedded memory sink or mongodb.`,
        { code: "NOT_SUPPORTED", role: "logs", details: { capability, sinks: states.map((state) => state.sink.name) } },
      );
    }
    return sink;
  }

  function makeLogger(bindings: Bindings): Logger {
    return {
      trace: (message, fields) => log("trace", message, fields, bindings),
      debug: (message, fields) => log("debug", message, fields, bindings),
      info: (message, fields) => log("info", message, fields, bindings),
      warn: (message, fields) => log("warn", message, fields, bindings),
      error: (message, fields) => log("error", message, fields, bindings),
      fatal: (message, fields) => log("fatal", message, fields, bindings),
      child: (childBindings) => makeLogger({ ...bindings, ...childBindings }),
    };
  }

  const capabilities: LogSinkCapabilities = {
    query: states.some((state) => state.sink.capabilities.query),
    subscribe: states.some((state) => state.sink.capabilities.subscribe),
    persistent: states.some((state) => state.sink.capabilities.persistent),
  };

  return {
    ...makeLogger({}),
    capabilities,

    flush,

    async query(query: LogQuery): Promise<LogEntry[]> {
      const sink = firstSinkWith("query");
      await flush();
      return (sink.query as NonNullable<LogSink["query"]>)(query);
    },

    async subscribe(handler, subscribeOptions): Promise<LogSubscription> {
      const sink = firstSinkWith("subscribe");
      return (sink.subscribe as NonNullable<LogSink["subscribe"]>)(handler, subscribeOptions);
    },

    async close(): Promise<void> {
      if (closed) {
        return;
      }
      clearInterval(timer);
      await flush();
      // The last flush may have logged about a failing sink, so flush those entries too.
      if (buffer.length > 0) {
        await flush();
      }
      closed = true;
      if (buffer.length > 0) {
        const rest = buffer;
        buffer = [];
        await writeToFallback(rest);
      }

      for (const state of states) {
        if (state.pending.length > 0) {
          await writeToFallback([
            buildEntry(
              "warn",
              `Log sink "${state.sink.name}" was still failing at close; ${state.pending.length} entries were never re-sent and remain only in the fallback sink "${fallback.name}"`,
              { sink: state.sink.name, unsent: state.pending.length, dropped: state.dropped },
              { source: "logs" },
            ),
          ]);
        }
      }
      // Integrations close their own sinks in stop(), so the facade only flushes them.
      await Promise.all(
        states.map((state) =>
          Promise.resolve()
            .then(() => state.sink.flush?.())
            .catch(() => undefined),
        ),
      );
    },
  };
}

/**
 * Returns a JSON-safe copy of `fields` with secret-looking keys and the
 * configured paths replaced by "[REDACTED]". Errors are serialized, dates
 * become ISO strings, cycles become "[Circular]".
 */
export function redactFields(fields: Record<string, unknown>, paths: string[][] = []): Record<string, unknown> {
  return sanitize(fields, paths, 0, new WeakSet()) as Record<string, unknown>;
}

/** Checks whether a key looks like it contains a secret (password, token, apiKey, authorization, cookie ...). */
export function isSecretKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 0);
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index] as string;
    if (SECRET_WORDS.has(word)) {
      return true;
    }
    if (index + 1 < words.length && SECRET_WORD_PAIRS.has(`${word} ${words[index + 1]}`)) {
      return true;
    }
  }
  return false;
}

// `paths` contains the remaining segments of every configured path that matched so far.
function sanitize(value: unknown, paths: string[][], depth: number, seen: WeakSet<object>): unknown {
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return value;
  }
  if (typeof value === "bigint") {
    return value.toString();
  }
  if (typeof value !== "object") {
    // Functions and symbols have no JSON form.
    return undefined;
  }
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  }
  if (value instanceof Error) {
    return redactError(serializeError(value));
  }
  if (value instanceof Uint8Array) {
    return `[${value.byteLength} bytes]`;
  }
  if (seen.has(value)) {
    return "[Circular]";
  }
  if (depth >= MAX_DEPTH) {
    return "[Truncated]";
  }
  seen.add(value);

  let result: unknown;
  if (Array.isArray(value) || value instanceof Set) {
    result = [...value].map((item, index) => {
      const childPaths = descend(paths, String(index));
      if (childPaths === REDACT) return REDACTED;
      const sanitized = sanitize(item, childPaths, depth + 1, seen);
      return sanitized === undefined ? null : sanitized;
    });
  } else {
    const entries = value instanceof Map ? [...value.entries()].map(([key, item]) => [String(key), item] as const) : readProperties(value);
    const output: Record<string, unknown> = {};
    for (const [key, item] of entries) {
      const childPaths = descend(paths, key);
      if (childPaths === REDACT || isSecretKey(key)) {
        output[key] = REDACTED;
        continue;
      }
      const sanitized = sanitize(item, childPaths, depth + 1, seen);
      if (sanitized !== undefined) {
        output[key] = sanitized;
      }
    }
    result = output;
  }

  seen.delete(value);
  return result;
}

// Reads own enumerable properties one by one, so a throwing getter costs one value, not the entry.
function readProperties(value: object): Array<readonly [string, unknown]> {
  return Object.keys(value).map((key) => {
    try {
      return [key, (value as Record<string, unknown>)[key]] as const;
    } catch (error) {
      return [key, `[Unreadable: ${error instanceof Error ? error.message : String(error)}]`] as const;
    }
  });
}

const REDACT = Symbol("redact");

// Returns the paths that continue below `key`, or REDACT when a path ends at it.
function descend(paths: string[][], key: string): string[][] | typeof REDACT {
  if (paths.length === 0) {
    return paths;
  }
  const next: string[][] = [];
  for (const path of paths) {
    const [head, ...rest] = path;
    if (head !== "*" && head !== key) {
      continue;
    }
    if (rest.length === 0) {
      return REDACT;
    }
    next.push(rest);
  }
  return next;
}

function redactError(error: SerializedError): SerializedError {
  if (error.details === undefined) {
    return error;
  }
  return { ...error, details: redactFields(error.details) };
}

function validateLogsOptions(options: LogsOptions): void {
  const problems: string[] = [];
  if (!Array.isArray(options?.sinks)) {
    problems.push("sinks must be an array of log sinks");
  }
  const positiveInteger = (label: string, value: number | undefined): void => {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      problems.push(`${label} must be an integer of 1 or more (got ${String(value)})`);
    }
  };
  positiveInteger("batchSize", options?.batchSize);
  positiveInteger("flushIntervalMs", options?.flushIntervalMs);
  positiveInteger("maxPendingPerSink", options?.maxPendingPerSink);
  positiveInteger("writeTimeoutMs", options?.writeTimeoutMs);
  if (options?.minLevel !== undefined && !LOG_LEVELS.includes(options.minLevel)) {
    problems.push(`minLevel must be one of ${LOG_LEVELS.join(", ")} (got ${JSON.stringify(options.minLevel)})`);
  }
  for (const path of options?.redactPaths ?? []) {
    if (typeof path !== "string" || path.split(".").some((segment) => segment.length === 0)) {
      problems.push(`redactPaths entry ${JSON.stringify(path)} must be dot-separated keys without empty parts, such as "customer.email"`);
    }
  }
  if (problems.length > 0) {
    throw new ValidationError(`Invalid logs options: ${problems.join("; ")}.`, { role: "logs", details: { problems } });
  }
}

// Last-resort output for failures of the logging path itself, which cannot log through itself.
function reportInternal(message: string, error: unknown): void {
  printLine({ level: "error", message, error: serializeError(error) });
}

function printLine(value: unknown): void {
  try {
    process.stderr.write(`${JSON.stringify(value)}\n`);
  } catch {
    // stderr is closed, so there is nowhere left to write.
  }
}
