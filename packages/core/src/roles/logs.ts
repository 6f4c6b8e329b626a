import type { SerializedError } from "../errors.js";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

export const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal"];

export function levelRank(level: LogLevel): number {
  return LOG_LEVELS.indexOf(level);
}

export interface LogEntry {
  id: string;
  /** ISO 8601. */
  timestamp: string;
  level: LogLevel;
  message: string;
  tenantId?: string;
  correlationId?: string;
  workerId?: string;
  /** Component that wrote the entry, such as an integration name. */
  source?: string;
  fields?: Record<string, unknown>;
  error?: SerializedError;
}

export interface LogQuery {
  levels?: LogLevel[];
  /** Entries at this level or above. */
  minLevel?: LogLevel;
  from?: Date | string;
  to?: Date | string;
  /** Case-insensitive substring of the message. */
  text?: string;
  workerId?: string;
  tenantId?: string;
  limit?: number;
}

export interface LogSubscription {
  close(): Promise<void>;
}

export interface LogSinkCapabilities {
  query: boolean;
  subscribe: boolean;
  persistent: boolean;
}

/**
 * Interface a logs provider implements. Core wraps sinks in the `Logs` facade,
 * which batches, redacts and fans out, so a sink only stores and reads.
 */
export interface LogSink {
  readonly name: string;
  readonly capabilities: LogSinkCapabilities;
  write(entries: LogEntry[]): Promise<void>;
  query?(query: LogQuery): Promise<LogEntry[]>;
  subscribe?(handler: (entry: LogEntry) => void, options?: { levels?: LogLevel[]; from?: Date | string }): Promise<LogSubscription>;
  flush?(): Promise<void>;
  close?(): Promise<void>;
}

/** Logs role as the application uses it. */
export interface Logger {
  trace(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown> & { err?: unknown }): void;
  fatal(message: string, fields?: Record<string, unknown> & { err?: unknown }): void;
  /** A logger that adds these fields (and `source`, `workerId` when given) to every entry. */
  child(bindings: Record<string, unknown>): Logger;
}

export interface LogsRole extends Logger {
  readonly capabilities: LogSinkCapabilities;
  /** Writes every buffered entry to every sink. */
  flush(): Promise<void>;
  query(query: LogQuery): Promise<LogEntry[]>;
  subscribe(handler: (entry: LogEntry) => void, options?: { levels?: LogLevel[]; from?: Date | string }): Promise<LogSubscription>;
  close(): Promise<void>;
}
