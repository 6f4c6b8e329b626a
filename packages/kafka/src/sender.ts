// Batches records from every role into produce requests, and keeps them in a
// bounded local outbox while the brokers are unreachable. A send resolves
// once the brokers acknowledged its records (acks=all).
import type { Logger, RoleName } from "@bridge/core";
import type { KafkaClient, ProduceRecord } from "./client.js";
import { kafkaError, type ResolvedOptions } from "./options.js";

interface Pending {
  record: ProduceRecord;
  bytes: number;
  done: Batch;
}

/** One `send` call: resolves when all its records are acknowledged, rejects on the first permanent failure. */
interface Batch {
  remaining: number;
  settled: boolean;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Maximum bytes in one produce request. The broker rejects a record batch
 * larger than `message.max.bytes` (1 MiB by default), so requests stay below it.
 */
const MAX_REQUEST_BYTES = 900 * 1024;
/** Sends that fail for this long make the sender count as failing, which bounds the outbox. */
const SLOW_SEND_MS = 5_000;

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Broker errors after which the idempotent producer's sequence numbers are out of step and it needs a new producer id. */
const PRODUCER_STATE_ERRORS = new Set(["OUT_OF_ORDER_SEQUENCE_NUMBER", "UNKNOWN_PRODUCER_ID", "INVALID_PRODUCER_EPOCH"]);

/** Errors that the same records can get past later: lost connections, timeouts, leader changes. */
export function isTransientError(error: unknown): boolean {
  // kafkajs wraps a lost connection in errors marked not retriable when its own retries ran out, so the causes count too.
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    const name = (current as { name?: string }).name ?? "";
    if ((current as { retriable?: boolean }).retriable === true || TRANSIENT_ERRORS.has(name)) return true;
  }
  return false;
}

const TRANSIENT_ERRORS: ReadonlySet<string> = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSNumberOfRetriesExceeded",
  "KafkaJSBrokerNotFound",
  "KafkaJSLockTimeout",
  "KafkaJSMetadataNotLoaded",
  "KafkaJSNoBrokerAvailableError",
]);

export class Sender {
  private readonly queue: Pending[] = [];
  private sending = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Epoch ms since when sends fail or hang, or undefined while they succeed. */
  private failingSince: number | undefined;
  private lastError: string | undefined;
  private sendStartedAt: number | undefined;
  private inFlightRecords = 0;
  private retryDelayMs = 100;
  private drained: Array<() => void> = [];

  constructor(
    private readonly client: () => KafkaClient,
    private readonly options: ResolvedOptions,
    private readonly logger: () => Logger,
  ) {}

  /** Records waiting to be sent or being sent. */
  get backlog(): number {
    return this.queue.length + this.inFlightRecords;
  }

  /** Whether sends have been failing or hanging, with the time it started and the last error. */
  get failure(): { since: string; lastError: string | undefined } | undefined {
    const since = this.failingSince ?? (this.sendStartedAt !== undefined && Date.now() - this.sendStartedAt > SLOW_SEND_MS ? this.sendStartedAt : undefined);
    return since === undefined ? undefined : { since: new Date(since).toISOString(), lastError: this.lastError };
  }

  /**
   * Queues `records` and resolves once all are acknowledged. While sends fail
   * and the outbox contains `outboxSize` records, it rejects with OUTBOX_FULL and queues nothing.
   */
  send(records: ProduceRecord[], role: RoleName): Promise<void> {
    if (this.closed) {
      return Promise.reject(kafkaError("Cannot send to Kafka: the integration is stopped. Create a new Bridge to send again.", "CLOSED", role));
    }
    if (records.length === 0) return Promise.resolve();
    if (this.failure !== undefined && this.backlog + records.length > this.options.outboxSize) {
      return Promise.reject(
        kafkaError(
          `Kafka at ${this.options.brokers.join(",")} is unreachable and the outbox is full (${this.options.outboxSize} records), so ${records.length} record(s) for topic "${records[0]?.topic}" were rejected. ` +
            "Retry later, or raise KAFKA_OUTBOX_SIZE.",
          "OUTBOX_FULL",
          role,
          { retryable: true, details: { outboxSize: this.options.outboxSize, backlog: this.backlog, lastError: this.lastError } },
        ),
      );
    }

    return new Promise<void>((resolve, reject) => {
      const batch: Batch = { remaining: records.length, settled: false, resolve, reject };
      for (const record of records) this.queue.push({ record, bytes: recordBytes(record), done: batch });
      this.schedule();
    });
  }

  /** Resolves once everything queued so far is sent, or after `deadlineMs`. */
  async flush(deadlineMs = 30_000): Promise<void> {
    if (this.backlog === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, deadlineMs);
      timer.unref?.();
      const drained = this.drained;
      function finish(): void {
        clearTimeout(timer);
        const index = drained.indexOf(finish);
        if (index >= 0) drained.splice(index, 1);
        resolve();
      }
      drained.push(finish);
    });
  }

  /** Sends what is queued within `deadlineMs`, then rejects the rest with CLOSED. */
  async close(deadlineMs: number): Promise<void> {
    await this.flush(deadlineMs);
    this.closed = true;
    clearTimeout(this.timer);
    const left = this.queue.splice(0);
    if (left.length > 0) {
      this.logger().error("Kafka integration stopped with records still in the outbox; they were not sent", { count: left.length, lastError: this.lastError });
      const error = kafkaError(`The integration stopped before ${left.length} record(s) reached Kafka; they were not sent.`, "CLOSED", undefined);
      for (const pending of left) this.settle(pending.done, error);
    }
  }

  private schedule(): void {
    if (this.sending || this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.timer = undefined;
      void this.pump();
    };
    if (this.options.batchTimeoutMs === 0 || this.queue.length >= this.options.maxBatchSize) setImmediate(run);
    else {
      this.timer = setTimeout(run, this.options.batchTimeoutMs);
    }
  }

  /** Sends one request at a time; records that arrive meanwhile fill the next request. */
  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const chunk = this.takeChunk();
        this.inFlightRecords = chunk.length;
        this.sendStartedAt = Date.now();
        try {
          await this.client().produce(chunk.map((pending) => pending.record));
          this.recovered();
          for (const pending of chunk) this.settle(pending.done);
        } catch (error) {
          // Records go back into the outbox below, so they no longer count as in flight.
          this.inFlightRecords = 0;
          const type = (error as { type?: string })?.type ?? "";
          if (!this.closed && PRODUCER_STATE_ERRORS.has(type)) {
            // kafkajs 2.2.4 can lose count of sequence numbers when a request fails for some partitions only.
            // NOTE: records of the failed request that the broker did write are sent again, so they may appear twice.
            this.logger().warn("Kafka rejected the producer's sequence numbers; sending again with a new producer", { error: errorMessage(error), records: chunk.length });
            this.queue.unshift(...chunk);
            await this.client().resetProducer().catch((resetError: unknown) => this.failed(resetError));
            continue;
          }
          if (this.closed || !isTransientError(error)) {
            const failure = kafkaError(
              `Kafka rejected ${chunk.length} record(s) for topic "${chunk[0]?.record.topic}": ${errorMessage(error)}. Check the topic exists and the record size is below the broker's message.max.bytes.`,
              "UNAVAILABLE",
              undefined,
              { cause: error, details: { topic: chunk[0]?.record.topic } },
            );
            for (const pending of chunk) this.settle(pending.done, failure);
          } else {
            // Back into the outbox in the same order; the next attempt waits with backoff.
            this.queue.unshift(...chunk);
            this.failed(error);
            await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
            this.retryDelayMs = Math.min(this.retryDelayMs * 2, 5_000);
          }
        } finally {
          this.inFlightRecords = 0;
          this.sendStartedAt = undefined;
        }
      }
    } finally {
      this.sending = false;
      for (const notify of this.drained.splice(0)) notify();
    }
  }

  private takeChunk(): Pending[] {
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length && count < this.options.maxBatchSize) {
      const next = this.queue[count] as Pending;
      if (count > 0 && bytes + next.bytes > MAX_REQUEST_BYTES) break;
      bytes += next.bytes;
      count += 1;
    }
    return this.queue.splice(0, count);
  }

  private settle(batch: Batch, error?: unknown): void {
    if (batch.settled) return;
    if (error !== undefined) {
      batch.settled = true;
      batch.reject(error);
      return;
    }
    batch.remaining -= 1;
    if (batch.remaining === 0) {
      batch.settled = true;
      batch.resolve();
    }
  }

  private failed(error: unknown): void {
    this.lastError = errorMessage(error);
    if (this.failingSince === undefined) {
      this.failingSince = Date.now();
      this.logger().warn("Kafka produce failed; records wait in the outbox and are sent again", { error: this.lastError, backlog: this.backlog });
    }
  }

  private recovered(): void {
    this.retryDelayMs = 100;
    if (this.failingSince !== undefined) {
      this.logger().info("Kafka produce works again; the outbox is being sent", { failedForMs: Date.now() - this.failingSince, backlog: this.backlog });
      this.failingSince = undefined;
    }
  }
}

function recordBytes(record: ProduceRecord): number {
  let bytes = 64 + (record.key ? Buffer.byteLength(record.key) : 0);
  if (typeof record.value === "string") bytes += Buffer.byteLength(record.value);
  else if (record.value !== null) bytes += record.value.length;
  if (record.headers) for (const [name, value] of Object.entries(record.headers)) bytes += name.length + Buffer.byteLength(value) + 8;
  return bytes;
}
