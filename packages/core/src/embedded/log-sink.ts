/**
 * Embedded log sink: a ring buffer in memory that keeps the newest entries,
 * serves queries and streams to subscribers, and prints each entry to stderr
 * as one JSON line. It is also the fallback sink when a remote sink is down.
 */
import { ValidationError } from "../errors.js";
import { LOG_LEVELS, levelRank, type LogEntry, type LogLevel, type LogQuery, type LogSink, type LogSubscription } from "../roles/logs.js";

export interface MemoryLogSinkOptions {
  /** Maximum entries kept. When full, each new entry overwrites the oldest. Default 10 000. */
  capacity?: number;
  /** Print each entry to stderr as one JSON line. Default true. */
  stderr?: boolean;
  /** Entries below this level are neither kept nor printed. Default: keep every level. */
  minLevel?: LogLevel;
  /** Receives each stderr line without its newline. Default: `process.stderr`. */
  writeLine?: (line: string) => void;
}

export interface MemoryLogSink extends LogSink {
  /** Number of entries currently kept. */
  readonly size: number;
}

const DEFAULT_QUERY_LIMIT = 100;

/** Creates the embedded sink. Its `query` returns the newest entries first. */
export function createMemoryLogSink(options: MemoryLogSinkOptions = {}): MemoryLogSink {
  const capacity = options.capacity ?? 10_000;
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new ValidationError(`Invalid log sink capacity ${JSON.stringify(capacity)}: pass an integer of 1 or more.`, { role: "logs" });
  }
  if (options.minLevel !== undefined) {
    validateLevel(options.minLevel, "minLevel");
  }
  const minRank = options.minLevel === undefined ? 0 : levelRank(options.minLevel);
  const printToStderr = options.stderr ?? true;
  const writeLine = options.writeLine ?? ((line: string) => process.stderr.write(`${line}\n`));

  // Ring buffer: `start` is the oldest entry, `count` how many are kept.
  const ring: (LogEntry | undefined)[] = new Array<LogEntry | undefined>(capacity);
  let start = 0;
  let count = 0;
  const subscribers = new Set<Subscriber>();

  function store(entry: LogEntry): void {
    if (count < capacity) {
      ring[(start + count) % capacity] = entry;
      count += 1;
    } else {
      ring[start] = entry;
      start = (start + 1) % capacity;
    }
  }

  // Yields entries newest first.
  function* newestFirst(): Generator<LogEntry> {
    for (let offset = count - 1; offset >= 0; offset -= 1) {
      const entry = ring[(start + offset) % capacity];
      if (entry !== undefined) {
        yield entry;
      }
    }
  }

  function print(entry: LogEntry): void {
    let line: string;
    try {
      line = JSON.stringify(entry);
    } catch (error) {
      line = JSON.stringify({ ...entry, fields: undefined, printError: `fields could not be serialized: ${(error as Error).message}` });
    }
    try {
      writeLine(line);
    } catch {
      // A broken stderr has nowhere left to be reported, and the entry is still kept in the ring.
    }
  }

  return {
    name: "memory",
    capabilities: { query: true, subscribe: true, persistent: false },

    get size(): number {
      return count;
    },

    async write(entries: LogEntry[]): Promise<void> {
      for (const entry of entries) {
        if (levelRank(entry.level) < minRank) {
          continue;
        }
        store(entry);
        if (printToStderr) {
          print(entry);
        }
        for (const subscriber of subscribers) {
          subscriber.deliver(entry);
        }
      }
    },

    async query(query: LogQuery = {}): Promise<LogEntry[]> {
      const matches = compileQuery(query);
      const limit = query.limit ?? DEFAULT_QUERY_LIMIT;
      const result: LogEntry[] = [];
      for (const entry of newestFirst()) {
        if (result.length >= limit) {
          break;
        }
        if (matches(entry)) {
          result.push(entry);
        }
      }
      return result;
    },

    async subscribe(handler, subscribeOptions = {}): Promise<LogSubscription> {
      const levels = subscribeOptions.levels;
      levels?.forEach((level) => validateLevel(level, "levels"));
      const from = subscribeOptions.from === undefined ? undefined : parseTime(subscribeOptions.from, "from");
      const subscriber = new Subscriber(handler, levels, writeLine);

      // Replay kept entries from `from` on, oldest first, before live ones.
      if (from !== undefined) {
        const backlog = [...newestFirst()].filter((entry) => Date.parse(entry.timestamp) >= from).reverse();
        for (const entry of backlog) {
          subscriber.deliver(entry);
        }
      }
      subscribers.add(subscriber);

      return {
        async close(): Promise<void> {
          subscribers.delete(subscriber);
        },
      };
    },

    async flush(): Promise<void> {},

    async close(): Promise<void> {
      subscribers.clear();
    },
  };
}

/** One subscription. A throwing handler never stops delivery. Its first failure is printed and later ones are counted. */
class Subscriber {
  private failures = 0;

  constructor(
    private readonly handler: (entry: LogEntry) => void,
    private readonly levels: LogLevel[] | undefined,
    private readonly writeLine: (line: string) => void,
  ) {}

  deliver(entry: LogEntry): void {
    if (this.levels !== undefined && !this.levels.includes(entry.level)) {
      return;
    }
    try {
      this.handler(entry);
    } catch (error) {
      this.failures += 1;
      if (this.failures === 1) {
        this.writeLine(
          JSON.stringify({
            level: "warn",
            message: "Log subscriber threw; later failures of this subscriber are counted, not printed",
            error: (error as Error)?.message ?? String(error),
          }),
        );
      }
    }
  }
}

function compileQuery(query: LogQuery): (entry: LogEntry) => boolean {
  if (query.limit !== undefined && (!Number.isInteger(query.limit) || query.limit < 1)) {
    throw new ValidationError(`Invalid log query limit ${JSON.stringify(query.limit)}: pass an integer of 1 or more.`, { role: "logs" });
  }
  query.levels?.forEach((level) => validateLevel(level, "levels"));
  if (query.minLevel !== undefined) {
    validateLevel(query.minLevel, "minLevel");
  }
  const from = query.from === undefined ? undefined : parseTime(query.from, "from");
  const to = query.to === undefined ? undefined : parseTime(query.to, "to");
  const minRank = query.minLevel === undefined ? 0 : levelRank(query.minLevel);
  const text = query.text?.toLowerCase();

  return (entry) => {
    if (query.levels !== undefined && !query.levels.includes(entry.level)) return false;
    if (levelRank(entry.level) < minRank) return false;
    if (from !== undefined || to !== undefined) {
      const time = Date.parse(entry.timestamp);
      if (from !== undefined && time < from) return false;
      if (to !== undefined && time > to) return false;
    }
    if (text !== undefined && !entry.message.toLowerCase().includes(text)) return false;
    if (query.workerId !== undefined && entry.workerId !== query.workerId) return false;
    if (query.tenantId !== undefined && entry.tenantId !== query.tenantId) return false;
    return true;
  };
}

function validateLevel(level: unknown, option: string): void {
  if (!LOG_LEVELS.includes(level as LogLevel)) {
    throw new ValidationError(`Invalid log level ${JSON.stringify(level)} in ${option}: use one of ${LOG_LEVELS.join(", ")}.`, {
      role: "logs",
    });
  }
}

function parseTime(value: Date | string, option: string): number {
  const time = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(time)) {
    throw new ValidationError(`Invalid time ${JSON.stringify(value)} in log query ${option}: pass a Date or an ISO 8601 string.`, {
      role: "logs",
    });
  }
  return time;
}
