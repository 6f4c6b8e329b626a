/**
 * Embedded queue: one in-process queue per task with broker semantics. Jobs
 * are stored as JSON text and parsed on every delivery, like messages on a
 * broker. Ready jobs wait in ten priority lanes, delayed ones in a heap
 * ordered by due time, leased ones in a map keyed by lease id.
 */
import { randomUUID } from "node:crypto";
import { BridgeError, serializeError, ValidationError } from "../errors.js";
import {
  assertPayloadSize,
  computeBackoffMs,
  createJobCard,
  decideFailure,
  DEFAULT_MAX_PAYLOAD_BYTES,
  parseJobCard,
  validateFailOptions,
  validateTaskName,
  type BackoffOptions,
} from "../jobcard.js";
import { createLogs } from "../logs.js";
import type { Logger, LogsRole } from "../roles/logs.js";
import {
  DEFAULT_LEASE_MS,
  DEFAULT_PRIORITY,
  type ConsumeOptions,
  type Consumer,
  type DeadLetter,
  type DeadLetterReason,
  type FailOptions,
  type FailOutcome,
  type FetchOptions,
  type JobCard,
  type JobHandler,
  type Lease,
  type PublishBatchItem,
  type PublishOptions,
  type QueueRole,
  type QueueStats,
} from "../roles/queue.js";
import type { SerializedError } from "../errors.js";
import { currentTenantId } from "../tenant.js";
import { createWorker } from "../worker.js";
import { createMemoryLogSink } from "./log-sink.js";

export interface MemoryQueueOptions {
  /** Lease of fetched jobs when `fetchBatch` gives none, in ms. Default 30 000. */
  defaultLeaseMs?: number;
  /** Retry backoff: exponential from `baseMs` up to `maxMs`, with equal jitter. Defaults 1000 and 300 000. */
  backoff?: Pick<BackoffOptions, "baseMs" | "maxMs" | "jitter">;
  /** Largest payload as JSON, in bytes. Default 1 MiB. */
  maxPayloadBytes?: number;
  /** Time an idempotency key is remembered per tenant and task, in ms. Default 24 hours. */
  idempotencyWindowMs?: number;
  /** Receives consumer logs: retries, dead letters, errors. Default: warnings and errors printed to stderr. */
  logger?: Logger;
  /** Clock in epoch ms. Default `Date.now`. */
  now?: () => number;
}

export interface MemoryQueue extends QueueRole {
  /** Adds raw bytes to a task's queue the way a foreign producer would. Fetching sends invalid ones to the dead-letter queue. */
  injectRaw(task: string, raw: string | Uint8Array): void;
}

interface Message {
  seq: number;
  /** Job card as JSON text, or the raw bytes of an injected message. */
  body: string | Uint8Array;
  priority: number;
  /** Epoch ms from which the message may be delivered. */
  availableAt: number;
  attempts: number;
  maxAttempts: number;
  leaseId?: string;
  leaseExpiresAt?: number;
}

interface TaskQueue {
  task: string;
  /** Ready messages, index 0 for priority 1 up to index 9 for priority 10. */
  lanes: Lane[];
  delayed: DelayHeap;
  leased: Map<string, Message>;
  dead: DeadLetter[];
  /** Idempotency key per tenant to the first job's card and when the key is forgotten, in insertion order. */
  idempotency: Map<string, { body: string; expiresAt: number }>;
  /** Long-polling fetches waiting for a change. */
  waiters: Set<() => void>;
  consumers: number;
}

// Interval of the timer that returns expired leases to the queue.
const LEASE_SWEEP_MS = 1000;
const DEFAULT_DEAD_LETTER_LIMIT = 100;

/** Creates the embedded queue role. */
export function createMemoryQueue(options: MemoryQueueOptions = {}): MemoryQueue {
  validateQueueOptions(options);

  const now = options.now ?? Date.now;
  const defaultLeaseMs = options.defaultLeaseMs ?? DEFAULT_LEASE_MS;
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const idempotencyWindowMs = options.idempotencyWindowMs ?? 24 * 60 * 60 * 1000;
  const backoff: BackoffOptions = {
    baseMs: options.backoff?.baseMs ?? 1000,
    maxMs: options.backoff?.maxMs ?? 300_000,
    jitter: options.backoff?.jitter ?? "equal",
  };
  const ownLogs: LogsRole | undefined =
    options.logger === undefined
      ? createLogs({ sinks: [createMemoryLogSink({ capacity: 1000, minLevel: "warn" })], minLevel: "warn", source: "embedded-queue" })
      : undefined;
  const logger = (options.logger ?? ownLogs) as Logger;

  const queues = new Map<string, TaskQueue>();
  const consumers = new Set<Consumer>();
  let seq = 0;
  let closing = false;
  let closed = false;
  let closePromise: Promise<void> | undefined;

  const sweepTimer = setInterval(() => {
    for (const queue of queues.values()) {
      sweep(queue);
    }
  }, LEASE_SWEEP_MS);
  sweepTimer.unref();

  function queueFor(task: string): TaskQueue {
    let queue = queues.get(task);
    if (queue === undefined) {
      queue = {
        task,
        lanes: Array.from({ length: 10 }, () => new Lane()),
        delayed: new DelayHeap(),
        leased: new Map(),
        dead: [],
        idempotency: new Map(),
        waiters: new Set(),
        consumers: 0,
      };
      queues.set(task, queue);
    }
    return queue;
  }

  function ensureOpen(operation: string, allowWhileClosing = false): void {
    if (closed || (closing && !allowWhileClosing)) {
      throw new BridgeError(
        `Cannot ${operation}: the embedded queue is ${closed ? "closed" : "closing"}. Create a new queue, or ${operation} before close().`,
        {
          code: "CLOSED",
          role: "queue",
          integration: "embedded",
        },
      );
    }
  }

  function notify(queue: TaskQueue): void {
    for (const waiter of [...queue.waiters]) {
      waiter();
    }
  }

  /** Puts a message where it belongs by its due time: a priority lane or the delay heap. */
  function enqueue(queue: TaskQueue, message: Message, front = false): void {
    message.leaseId = undefined;
    message.leaseExpiresAt = undefined;
    if (message.availableAt > now()) {
      queue.delayed.push(message);
    } else if (front) {
      laneOf(queue, message).unshift(message);
    } else {
      laneOf(queue, message).push(message);
    }
    notify(queue);
  }

  function laneOf(queue: TaskQueue, message: Message): Lane {
    return queue.lanes[message.priority - 1] as Lane;
  }

  /** Moves due delayed messages to their lanes and returns expired leases to the queue. */
  function sweep(queue: TaskQueue): void {
    const time = now();
    for (let message = queue.delayed.peek(); message !== undefined && message.availableAt <= time; message = queue.delayed.peek()) {
      queue.delayed.pop();
      laneOf(queue, message).push(message);
    }

    for (const [leaseId, message] of queue.leased) {
      if ((message.leaseExpiresAt ?? Infinity) > time) {
        continue;
      }
      queue.leased.delete(leaseId);
      const error = new BridgeError(
        `Lease of a job of task "${queue.task}" expired at ${new Date(
          message.leaseExpiresAt ?? time,
        ).toISOString()} before the consumer committed or failed it`,
        { code: "LEASE_EXPIRED", role: "queue", integration: "embedded" },
      );
      const serialized = serializeError(error);
      if (message.attempts >= message.maxAttempts) {
        deadLetter(queue, message, "max-attempts", serialized);
        continue;
      }
      recordLastError(message, serialized);
      message.availableAt = time;
      // An expired job goes first in its lane, because it was due before everything behind it.
      enqueue(queue, message, true);
    }
  }

  function recordLastError(message: Message, error: SerializedError): void {
    const parsed = parseJobCard(message.body);
    if (parsed.ok) {
      message.body = JSON.stringify({ ...parsed.job, lastError: error });
    }
  }

  function deadLetter(queue: TaskQueue, message: Message, reason: DeadLetterReason, error: SerializedError): DeadLetter {
    const parsed = parseJobCard(message.body);
    const entry: DeadLetter = parsed.ok
      ? {
          id: parsed.job.id,
          task: queue.task,
          reason,
          job: { ...parsed.job, lastError: error },
          error,
          attempts: message.attempts,
          deadAt: new Date(now()).toISOString(),
        }
      : {
          id: randomUUID(),
          task: queue.task,
          reason,
          job: null,
          raw: rawText(message.body),
          error,
          attempts: message.attempts,
          deadAt: new Date(now()).toISOString(),
        };
    queue.dead.push(entry);
    return entry;
  }

  /** Leases one message, or dead-letters it and returns undefined when it is not a valid job card of this task. */
  function lease<P>(queue: TaskQueue, message: Message, leaseMs: number): Lease<P> | undefined {
    message.attempts += 1;
    const parsed = parseJobCard<P>(message.body);
    const problem = parsed.ok
      ? parsed.job.task === queue.task
        ? undefined
        : `task: expected "${queue.task}", got "${parsed.job.task}"`
      : parsed.reason;
    if (problem !== undefined || !parsed.ok) {
      const error = new BridgeError(
        `Message on the queue of task "${queue.task}" is not a valid job card (${problem}). It went to the dead-letter queue.`,
        {
          code: "INVALID_JOB_CARD",
          role: "queue",
          integration: "embedded",
          details: { task: queue.task, reason: problem },
        },
      );
      const entry = deadLetter(queue, message, "invalid-job-card", serializeError(error));
      logger.error(error.message, { task: queue.task, deadLetterId: entry.id, reason: problem });
      return undefined;
    }

    const job: JobCard<P> = { ...parsed.job, attempts: message.attempts };
    message.body = JSON.stringify(job);
    message.maxAttempts = job.maxAttempts;
    message.leaseId = randomUUID();
    message.leaseExpiresAt = now() + leaseMs;
    queue.leased.set(message.leaseId, message);
    return { job, leaseId: message.leaseId, leaseExpiresAt: message.leaseExpiresAt };
  }

  function takeReady<P>(queue: TaskQueue, max: number, leaseMs: number): Lease<P>[] {
    sweep(queue);
    const leases: Lease<P>[] = [];
    for (let index = queue.lanes.length - 1; index >= 0 && leases.length < max; index -= 1) {
      const lane = queue.lanes[index] as Lane;
      while (leases.length < max) {
        const message = lane.shift();
        if (message === undefined) {
          break;
        }
        const leased = lease<P>(queue, message, leaseMs);
        if (leased !== undefined) {
          leases.push(leased);
        }
      }
    }
    return leases;
  }

  /** Resolves after a publish or requeue on `queue`, or after `ms`. */
  function waitForChange(queue: TaskQueue, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        queue.waiters.delete(done);
        resolve();
      }
      queue.waiters.add(done);
    });
  }

  /** Returns the epoch ms of the next delayed job or lease expiry, so a waiting fetch wakes for those too. */
  function nextDue(queue: TaskQueue): number {
    let due = queue.delayed.peek()?.availableAt ?? Infinity;
    for (const message of queue.leased.values()) {
      due = Math.min(due, message.leaseExpiresAt ?? Infinity);
    }
    return due;
  }

  /** Finds the message of a lease still held, or throws LEASE_EXPIRED. */
  function heldMessage(lease: Lease, operation: string): { queue: TaskQueue; message: Message } {
    if (
      lease === null ||
      typeof lease !== "object" ||
      typeof lease.leaseId !== "string" ||
      lease.job === null ||
      typeof lease.job !== "object"
    ) {
      throw new ValidationError(`Cannot ${operation}: expected a lease returned by fetchBatch, got ${JSON.stringify(lease)}.`, {
        role: "queue",
      });
    }
    const queue = queues.get(lease.job.task);
    if (queue !== undefined) {
      sweep(queue);
      const message = queue.leased.get(lease.leaseId);
      if (message !== undefined) {
        return { queue, message };
      }
    }
    throw new BridgeError(
      `Cannot ${operation} job ${lease.job.id} of task "${lease.job.task}": lease ${lease.leaseId} is no longer held because it expired at ` +
        `${new Date(lease.leaseExpiresAt).toISOString()} or the job was already committed or failed. ` +
        "The job is delivered again if it was not settled; raise leaseMs above the handler's run time.",
      {
        code: "LEASE_EXPIRED",
        role: "queue",
        integration: "embedded",
        tenantId: lease.job.tenantId,
        details: { jobId: lease.job.id, leaseId: lease.leaseId },
      },
    );
  }

  function buildJob<P>(task: string, payload: P, publishOptions: PublishOptions | undefined): { job: JobCard<P>; body: string } {
    const job = createJobCard(task, payload, publishOptions, currentTenantId(), now());
    assertPayloadSize(payload, maxPayloadBytes, { task, tenantId: job.tenantId });
    return { job, body: JSON.stringify(job) };
  }

  function idempotencyKeyOf(job: JobCard): string | undefined {
    return job.idempotencyKey === undefined ? undefined : `${job.tenantId}\u0000${job.idempotencyKey}`;
  }

  /** Returns the first job published with the same key and tenant, while the key is remembered. */
  function findDuplicate<P>(queue: TaskQueue, job: JobCard<P>): JobCard<P> | undefined {
    const key = idempotencyKeyOf(job);
    if (key === undefined) {
      return undefined;
    }
    // Keys are inserted in time order, so expired ones are at the front.
    const time = now();
    for (const [storedKey, stored] of queue.idempotency) {
      if (stored.expiresAt > time) break;
      queue.idempotency.delete(storedKey);
    }
    const stored = queue.idempotency.get(key);
    return stored === undefined ? undefined : (JSON.parse(stored.body) as JobCard<P>);
  }

  function add<P>(job: JobCard<P>, body: string): JobCard<P> {
    const queue = queueFor(job.task);
    const duplicate = findDuplicate(queue, job);
    if (duplicate !== undefined) {
      return duplicate;
    }
    const key = idempotencyKeyOf(job);
    if (key !== undefined) {
      queue.idempotency.set(key, { body, expiresAt: now() + idempotencyWindowMs });
    }

    seq += 1;
    enqueue(queue, {
      seq,
      body,
      priority: job.priority,
      availableAt: job.scheduledFor === null ? now() : Date.parse(job.scheduledFor),
      attempts: 0,
      maxAttempts: job.maxAttempts,
    });
    return JSON.parse(body) as JobCard<P>;
  }

  const role: MemoryQueue = {
    capabilities: {
      priority: true,
      delay: true,
      orderingByKey: false,
      replayFromOffset: false,
      persistent: false,
      idempotentPublish: true,
    },

    async publish<P>(task: string, payload: P, publishOptions?: PublishOptions): Promise<JobCard<P>> {
      ensureOpen("publish");
      const { job, body } = buildJob(task, payload, publishOptions);
      return add(job, body);
    },

    async publishBatch(items: PublishBatchItem[]): Promise<JobCard[]> {
      ensureOpen("publish");
      if (!Array.isArray(items)) {
        throw new ValidationError(`Invalid publishBatch input ${JSON.stringify(items)}: pass an array of { task, payload, options }.`, {
          role: "queue",
        });
      }
      // Validate every item before adding any, so a bad item publishes nothing.
      const built = items.map((item, index) => {
        try {
          return buildJob(item.task, item.payload, item.options);
        } catch (error) {
          if (error instanceof BridgeError) {
            error.message = `publishBatch item ${index}: ${error.message}`;
            error.details["index"] = index;
          }
          throw error;
        }
      });
      return built.map(({ job, body }) => add(job, body));
    },

    async fetchBatch<P = unknown>(task: string, fetchOptions: FetchOptions): Promise<Lease<P>[]> {
      ensureOpen("fetch", true);
      validateTaskName(task);
      const { max, leaseMs, waitMs } = validateFetchOptions(task, fetchOptions, defaultLeaseMs);
      if (closing) {
        // Consumers that are draining get no new jobs.
        return [];
      }
      const queue = queueFor(task);
      const deadline = now() + waitMs;

      for (;;) {
        const leases = takeReady<P>(queue, max, leaseMs);
        const remaining = deadline - now();
        if (leases.length > 0 || remaining <= 0 || closing) {
          return leases;
        }
        await waitForChange(queue, Math.max(1, Math.min(remaining, nextDue(queue) - now())));
      }
    },

    async commit(lease: Lease): Promise<void> {
      ensureOpen("commit", true);
      const { queue, message } = heldMessage(lease, "commit");
      queue.leased.delete(message.leaseId as string);
    },

    async fail(lease: Lease, error: unknown, failOptions?: FailOptions): Promise<FailOutcome> {
      ensureOpen("fail", true);
      const checked = validateFailOptions(failOptions);
      const { queue, message } = heldMessage(lease, "fail");
      queue.leased.delete(message.leaseId as string);

      const parsed = parseJobCard(message.body);
      const serialized = serializeError(error);
      if (!parsed.ok) {
        // Leased messages were parsed when leased, so this branch only guards against a bug losing the message.
        deadLetter(queue, message, "invalid-job-card", serialized);
        return { action: "dead", attempts: message.attempts, reason: "invalid-job-card" };
      }

      const decision = decideFailure(parsed.job, error, checked);
      if (decision.action === "dead") {
        deadLetter(queue, message, decision.reason, serialized);
        return { action: "dead", attempts: message.attempts, reason: decision.reason };
      }

      const delayMs = checked.delayMs ?? computeBackoffMs(message.attempts, backoff);
      message.body = JSON.stringify({ ...parsed.job, lastError: serialized });
      message.availableAt = now() + delayMs;
      enqueue(queue, message);
      return { action: "retry", attempts: message.attempts, retryAt: new Date(message.availableAt).toISOString() };
    },

    consume<P = unknown>(task: string, handler: JobHandler<P>, consumeOptions: ConsumeOptions = {}): Consumer {
      ensureOpen("consume");
      const worker = createWorker<P>(
        { queue: role, logger },
        {
          task,
          handler: (job, context) => handler(job, context.signal),
          ...(consumeOptions.concurrency !== undefined ? { concurrency: consumeOptions.concurrency } : {}),
          ...(consumeOptions.batchSize !== undefined ? { batchSize: consumeOptions.batchSize } : {}),
          leaseMs: consumeOptions.leaseMs ?? defaultLeaseMs,
          ...(consumeOptions.pollIntervalMs !== undefined ? { pollIntervalMs: consumeOptions.pollIntervalMs } : {}),
        },
      );
      const queue = queueFor(task);
      queue.consumers += 1;

      const consumer: Consumer = {
        async stop(stopOptions?: { drainMs?: number }): Promise<void> {
          if (!consumers.delete(consumer)) {
            return;
          }
          queue.consumers -= 1;
          await worker.stop(stopOptions);
        },
      };
      consumers.add(consumer);
      worker.start().catch((error) => logger.error(`Consumer of task "${task}" failed to start`, { err: error }));
      return consumer;
    },

    async listDeadLetters(task: string, listOptions: { limit?: number } = {}): Promise<DeadLetter[]> {
      validateTaskName(task);
      const limit = listOptions.limit ?? DEFAULT_DEAD_LETTER_LIMIT;
      if (!Number.isInteger(limit) || limit < 1) {
        throw new ValidationError(`Invalid dead-letter limit ${JSON.stringify(limit)}: pass an integer of 1 or more.`, { role: "queue" });
      }
      const dead = queues.get(task)?.dead ?? [];
      // Copies, so callers cannot change what is stored.
      return JSON.parse(JSON.stringify(dead.slice(0, limit))) as DeadLetter[];
    },

    async replayDeadLetters(task: string, replayOptions: { ids?: string[] } = {}): Promise<number> {
      ensureOpen("replay dead letters");
      validateTaskName(task);
      const queue = queues.get(task);
      if (queue === undefined) {
        return 0;
      }
      const wanted = replayOptions.ids === undefined ? undefined : new Set(replayOptions.ids);
      const kept: DeadLetter[] = [];
      let moved = 0;

      for (const entry of queue.dead) {
        // A message that was never a valid job card has nothing to replay, so it stays.
        if (entry.job === null || (wanted !== undefined && !wanted.has(entry.id))) {
          kept.push(entry);
          continue;
        }
        const job: JobCard = { ...entry.job, attempts: 0, scheduledFor: null };
        seq += 1;
        enqueue(queue, {
          seq,
          body: JSON.stringify(job),
          priority: job.priority,
          availableAt: now(),
          attempts: 0,
          maxAttempts: job.maxAttempts,
        });
        moved += 1;
      }
      queue.dead = kept;
      return moved;
    },

    async purgeDeadLetters(task: string): Promise<number> {
      validateTaskName(task);
      const queue = queues.get(task);
      const count = queue?.dead.length ?? 0;
      if (queue !== undefined) {
        queue.dead = [];
      }
      return count;
    },

    async stats(task: string): Promise<QueueStats> {
      validateTaskName(task);
      const queue = queues.get(task);
      if (queue === undefined) {
        return { task, depth: 0, inFlight: 0, delayed: 0, dead: 0, consumers: 0 };
      }
      sweep(queue);
      const ready = queue.lanes.reduce((sum, lane) => sum + lane.size, 0);
      return {
        task,
        depth: ready + queue.delayed.size,
        inFlight: queue.leased.size,
        delayed: queue.delayed.size,
        dead: queue.dead.length,
        consumers: queue.consumers,
      };
    },

    injectRaw(task: string, raw: string | Uint8Array): void {
      ensureOpen("inject a message");
      validateTaskName(task);
      if (typeof raw !== "string" && !(raw instanceof Uint8Array)) {
        throw new ValidationError(`Invalid raw message for task "${task}": pass a string or a Uint8Array.`, { role: "queue" });
      }
      seq += 1;
      enqueue(queueFor(task), { seq, body: raw, priority: DEFAULT_PRIORITY, availableAt: now(), attempts: 0, maxAttempts: 1 });
    },

    close(closeOptions: { drainMs?: number } = {}): Promise<void> {
      closePromise ??= (async () => {
        closing = true;
        for (const queue of queues.values()) {
          notify(queue);
        }
        await Promise.all([...consumers].map((consumer) => consumer.stop(closeOptions)));
        closed = true;
        clearInterval(sweepTimer);
        await ownLogs?.close();
      })();
      return closePromise;
    },
  };
  return role;
}

function rawText(body: string | Uint8Array): string {
  // NOTE: bytes that are not valid UTF-8 are kept with U+FFFD replacement characters, so the original bytes are not recoverable.
  return typeof body === "string" ? body : new TextDecoder("utf-8").decode(body);
}

function validateFetchOptions(
  task: string,
  options: FetchOptions,
  defaultLeaseMs: number,
): { max: number; leaseMs: number; waitMs: number } {
  const problems: string[] = [];
  if (options === null || typeof options !== "object") {
    throw new ValidationError(`Invalid fetch options for task "${task}": pass an object such as { max: 10 }.`, { role: "queue" });
  }
  const { max, leaseMs = defaultLeaseMs, waitMs = 0 } = options;
  if (!Number.isInteger(max) || max < 1) problems.push(`max must be an integer of 1 or more (got ${String(max)})`);
  if (!Number.isInteger(leaseMs) || leaseMs < 1) problems.push(`leaseMs must be an integer of 1 or more (got ${String(leaseMs)})`);
  if (typeof waitMs !== "number" || !Number.isFinite(waitMs) || waitMs < 0)
    problems.push(`waitMs must be a number of 0 or more (got ${String(waitMs)})`);
  if (problems.length > 0) {
    throw new ValidationError(`Invalid fetch options for task "${task}": ${problems.join("; ")}.`, {
      role: "queue",
      details: { task, problems },
    });
  }
  return { max, leaseMs, waitMs };
}

function validateQueueOptions(options: MemoryQueueOptions): void {
  const problems: string[] = [];
  const positive = (label: string, value: number | undefined): void => {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      problems.push(`${label} must be an integer of 1 or more (got ${String(value)})`);
    }
  };
  positive("defaultLeaseMs", options.defaultLeaseMs);
  positive("maxPayloadBytes", options.maxPayloadBytes);
  positive("idempotencyWindowMs", options.idempotencyWindowMs);
  positive("backoff.baseMs", options.backoff?.baseMs);
  positive("backoff.maxMs", options.backoff?.maxMs);
  if (options.backoff?.baseMs !== undefined && options.backoff.maxMs !== undefined && options.backoff.maxMs < options.backoff.baseMs) {
    problems.push(`backoff.maxMs (${options.backoff.maxMs}) must be at least backoff.baseMs (${options.backoff.baseMs})`);
  }
  if (problems.length > 0) {
    throw new ValidationError(`Invalid embedded queue options: ${problems.join("; ")}.`, {
      role: "queue",
      integration: "embedded",
      details: { problems },
    });
  }
}

/** FIFO of messages with cheap removal at the front and re-insertion there. */
class Lane {
  private items: Message[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(message: Message): void {
    this.items.push(message);
  }

  unshift(message: Message): void {
    if (this.head > 0) {
      this.head -= 1;
      this.items[this.head] = message;
    } else {
      this.items.unshift(message);
    }
  }

  shift(): Message | undefined {
    if (this.head >= this.items.length) {
      return undefined;
    }
    const message = this.items[this.head];
    this.head += 1;
    // Drop consumed slots once they are half the array, keeping shifts O(1) amortized.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return message;
  }
}

/** Binary min-heap of delayed messages by due time, then publish order. */
class DelayHeap {
  private items: Message[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Message | undefined {
    return this.items[0];
  }

  push(message: Message): void {
    const items = this.items;
    items.push(message);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(items[index] as Message, items[parent] as Message)) break;
      [items[index], items[parent]] = [items[parent] as Message, items[index] as Message];
      index = parent;
    }
  }

  pop(): Message | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < items.length && before(items[left] as Message, items[smallest] as Message)) smallest = left;
        if (right < items.length && before(items[right] as Message, items[smallest] as Message)) smallest = right;
        if (smallest === index) break;
        [items[index], items[smallest]] = [items[smallest] as Message, items[index] as Message];
        index = smallest;
      }
    }
    return top;
  }
}

function before(a: Message, b: Message): boolean {
  return a.availableAt < b.availableAt || (a.availableAt === b.availableAt && a.seq < b.seq);
}
