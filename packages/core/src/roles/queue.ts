import type { SerializedError } from "../errors.js";

/** The queue envelope. Every provider stores and delivers exactly this shape. */
export interface JobCard<P = unknown> {
  id: string;
  task: string;
  payload: P;
  tenantId: string;
  /** 1 (lowest) to 10 (highest); 5 when not given. */
  priority: number;
  /** Deliveries so far, counting the current one once it is leased. */
  attempts: number;
  /** Deliveries allowed before the job goes to the dead-letter queue; 3 when not given. */
  maxAttempts: number;
  /** ISO 8601 time of the first publish. */
  createdAt: string;
  /** ISO 8601 time before which the job is not delivered, or null for now. */
  scheduledFor: string | null;
  /** Time a handler may run before the runtime treats the attempt as failed. */
  timeoutMs: number;
  idempotencyKey?: string;
  /** Jobs with the same key are delivered in publish order where the provider declares `orderingByKey`. */
  orderingKey?: string;
  /** W3C trace context of the publisher. */
  traceparent?: string;
  /** The error of the previous failed attempt, if any. */
  lastError?: SerializedError;
}

export interface PublishOptions {
  priority?: number;
  delayMs?: number;
  /** Absolute time; wins over `delayMs`. */
  scheduledFor?: Date | string;
  maxAttempts?: number;
  timeoutMs?: number;
  /** A second publish with the same key and task returns the first job and enqueues nothing. */
  idempotencyKey?: string;
  orderingKey?: string;
  /** Overrides the tenant of the current context. */
  tenantId?: string;
}

export interface PublishBatchItem<P = unknown> {
  task: string;
  payload: P;
  options?: PublishOptions;
}

export interface FetchOptions {
  /** Maximum number of jobs to return. */
  max: number;
  /** How long the jobs stay invisible to other consumers; the provider default when absent. */
  leaseMs?: number;
  /** Wait up to this long for at least one job; 0 returns at once. */
  waitMs?: number;
}

/** A job handed to one consumer until committed, failed or the lease expires. */
export interface Lease<P = unknown> {
  job: JobCard<P>;
  /** Opaque token the provider uses to find the delivery again. */
  leaseId: string;
  /** Epoch milliseconds. After it the job may be delivered to another consumer. */
  leaseExpiresAt: number;
}

export interface FailOptions {
  /** false sends the job straight to the dead-letter queue. Default true. */
  retryable?: boolean;
  /** Overrides the computed backoff. */
  delayMs?: number;
}

export type FailOutcome =
  | { action: "retry"; attempts: number; retryAt: string }
  | { action: "dead"; attempts: number; reason: DeadLetterReason };

export type DeadLetterReason = "max-attempts" | "non-retryable" | "invalid-job-card" | "handler-timeout";

export interface DeadLetter {
  /** Identifier of the dead-letter entry (equal to the job id when the job card was valid). */
  id: string;
  task: string;
  reason: DeadLetterReason;
  /** The job card, or null when the message was not a valid job card. */
  job: JobCard | null;
  /** The original bytes as text, kept when the message was not a valid job card. */
  raw?: string;
  error?: SerializedError;
  attempts: number;
  deadAt: string;
}

export interface QueueStats {
  task: string;
  /** Jobs ready or waiting on delay or backoff, not leased. */
  depth: number;
  inFlight: number;
  delayed: number;
  dead: number;
  consumers?: number;
}

export interface ConsumeOptions {
  concurrency?: number;
  batchSize?: number;
  leaseMs?: number;
  /** Idle wait between empty fetches. */
  pollIntervalMs?: number;
}

export type JobHandler<P = unknown> = (job: JobCard<P>, signal: AbortSignal) => Promise<void>;

export interface Consumer {
  /** Stops fetching; waits for in-flight handlers up to the deadline, then returns. */
  stop(options?: { drainMs?: number }): Promise<void>;
}

export interface QueueCapabilities {
  priority: boolean;
  delay: boolean;
  orderingByKey: boolean;
  replayFromOffset: boolean;
  persistent: boolean;
  idempotentPublish: boolean;
}

export interface QueueRole {
  readonly capabilities: QueueCapabilities;
  publish<P>(task: string, payload: P, options?: PublishOptions): Promise<JobCard<P>>;
  publishBatch(items: PublishBatchItem[]): Promise<JobCard[]>;
  fetchBatch<P = unknown>(task: string, options: FetchOptions): Promise<Lease<P>[]>;
  /** Acknowledges the job; it is never delivered again. */
  commit(lease: Lease): Promise<void>;
  /** Schedules a retry with backoff, or dead-letters after `maxAttempts` or when not retryable. */
  fail(lease: Lease, error: unknown, options?: FailOptions): Promise<FailOutcome>;
  /** Runs `handler` for each job until stopped: commits on success, fails on throw. */
  consume<P = unknown>(task: string, handler: JobHandler<P>, options?: ConsumeOptions): Consumer;
  listDeadLetters(task: string, options?: { limit?: number }): Promise<DeadLetter[]>;
  /** Moves dead letters back to the queue with attempts reset; returns how many moved. */
  replayDeadLetters(task: string, options?: { ids?: string[] }): Promise<number>;
  purgeDeadLetters(task: string): Promise<number>;
  stats(task: string): Promise<QueueStats>;
  close(options?: { drainMs?: number }): Promise<void>;
}

export const DEFAULT_PRIORITY = 5;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_JOB_TIMEOUT_MS = 30_000;
export const DEFAULT_LEASE_MS = 30_000;
