// Queue role on Kafka: one topic per task (`<prefix>.<task>`), consumed by
// the group `<groupId>.<task>` with offsets committed only up to the last
// job that is done. Failed and scheduled jobs wait in the retry topics
// `<topic>.retry.<delay>`; dead letters go to `<topic>.dlq` with the reason,
// error and attempts in headers. Depth is the group's consumer lag.
import { randomUUID } from "node:crypto";
import {
  BridgeError,
  computeBackoffMs,
  createJobCard,
  currentTenantId,
  decideFailure,
  serializeError,
  validateFailOptions,
  validateTaskName,
  ValidationError,
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
  type Logger,
  type PublishBatchItem,
  type PublishOptions,
  type QueueCapabilities,
  type QueueRole,
  type QueueStats,
  type SerializedError,
} from "@bridge/core";
import { encodeCard, HEADER } from "./card.js";
import type { ClientAdmin, ConsumedMessage, KafkaClient, ProduceRecord } from "./client.js";
import { DeadLetterStore } from "./dead-letters.js";
import { consumeExactlyOnce, type ExactlyOnceHandler, type ExactlyOnceOptions } from "./exactly-once.js";
import { IdempotencyRecord } from "./idempotency.js";
import { kafkaError, type ResolvedOptions } from "./options.js";
import { QueueConsumer } from "./queue-consumer.js";
import { retryRecord, RetryForwarder } from "./retry.js";
import type { Sender } from "./sender.js";
import { errorMessage } from "./sender.js";
import { TaskConsumer, type Entry, type HeldJob } from "./task-consumer.js";
import { taskTopics, type TaskTopics, type TopicRegistry } from "./topics.js";

/** Target of `replayFrom`: one offset (for every partition, or one partition), or a time. */
export type ReplayTarget = { offset: number; partition?: number } | { time: Date | string | number };

export interface KafkaQueue extends QueueRole {
  /** Topic and consumer group names of a task. */
  names(task: string): TaskTopics;
  /** Creates the task's main, retry and dead-letter topics if they are missing. */
  ensureTopics(task: string): Promise<TaskTopics>;
  /**
   * Moves the task's consumer group back (or forward) to an offset or a time,
   * so the jobs from there are delivered again. Consumers of the task in this
   * process rejoin after the move; the group must have no members in other processes.
   * Returns the committed offset set per partition.
   */
  replayFrom(task: string, target: ReplayTarget): Promise<Array<{ partition: number; offset: number }>>;
  /**
   * Consumes with exactly-once output: what the handler publishes through
   * its context is committed in one transaction with the consumed offset.
   */
  consumeExactlyOnce<P = unknown>(task: string, handler: ExactlyOnceHandler<P>, options?: ExactlyOnceOptions): Consumer;
  /** Consumer lag (records not yet committed) of the group of each task consumed in this process, by group id. */
  lag(): Promise<Record<string, number>>;
}

/** Dependencies of the queue on the integration. */
export interface QueueDeps {
  client: () => KafkaClient;
  sender: Sender;
  topics: TopicRegistry;
  options: ResolvedOptions;
  logger: () => Logger;
  instanceId: string;
}

/** The per-task parts of this process, created on first use. */
interface TaskRuntime {
  topics: TaskTopics;
  consumer: TaskConsumer;
  forwarder: RetryForwarder;
  deadLetters: DeadLetterStore;
  localConsumers: Set<QueueConsumer>;
}

export function createQueue(deps: QueueDeps): KafkaQueue {
  const { options, sender } = deps;
  const logger = deps.logger;
  const capabilities: QueueCapabilities = {
    // A partition is a log read in offset order; there is no priority order to honour.
    priority: false,
    delay: true,
    orderingByKey: true,
    replayFromOffset: true,
    persistent: true,
    idempotentPublish: true,
  };
  const backoff = { baseMs: options.backoffBaseMs, maxMs: options.backoffMaxMs };
  const runtimes = new Map<string, TaskRuntime>();
  const idempotency = new IdempotencyRecord(options.idempotencyTtlMs, options.idempotencyMaxKeys);
  const exactlyOnceConsumers = new Set<Consumer>();
  let closed = false;

  const knownNames = new Map<string, TaskTopics>();
  /** Tasks whose topics exist, so publishing skips the check. */
  const ensured = new Map<string, TaskTopics>();

  function names(task: string): TaskTopics {
    let topics = knownNames.get(task);
    if (topics === undefined) {
      validateTaskName(task);
      topics = taskTopics(options, task);
      knownNames.set(task, topics);
    }
    return topics;
  }

  async function ensureTopics(task: string): Promise<TaskTopics> {
    const known = ensured.get(task);
    if (known !== undefined) return known;
    const topics = names(task);
    try {
      await deps.topics.ensure(deps.topics.taskSpecs(topics));
    } catch (error) {
      throw kafkaError(
        `Could not create the topics of task "${task}" (${topics.main} and its retry and dead-letter topics): ${errorMessage(error)}. ` +
          "Check that the brokers are reachable and that this client may create topics, or create them beforehand.",
        "UNAVAILABLE",
        "queue",
        { retryable: true, cause: error, details: { task, topic: topics.main } },
      );
    }
    ensured.set(task, topics);
    return topics;
  }

  function assertOpen(tenantId?: string): void {
    if (closed) throw kafkaError("The Kafka queue is closed. Create a new Bridge to use the queue again.", "CLOSED", "queue", { tenantId });
  }

  function runtime(task: string): TaskRuntime {
    let existing = runtimes.get(task);
    if (existing !== undefined) return existing;
    const topics = names(task);
    const created: TaskRuntime = {
      topics,
      consumer: newTaskConsumer(topics),
      forwarder: new RetryForwarder(deps.client, sender, topics, logger),
      deadLetters: new DeadLetterStore(deps.client, sender, topics, `${topics.group}.dlq-reader.${deps.instanceId}`, logger),
      localConsumers: new Set(),
    };
    runtimes.set(task, created);
    existing = created;
    return existing;
  }

  function newTaskConsumer(topics: TaskTopics): TaskConsumer {
    return new TaskConsumer(deps.client, options, topics, logger, deps.instanceId, {
      deadLetterInvalid: (message, reason) => deadLetterInvalid(topics, message, reason),
      reschedule: (card, message) => sender.send([retryRecord(topics, message.value ?? encodeCard(card), message.key, Date.parse(card.scheduledFor ?? ""))], "queue"),
      leaseExpired: (held) => leaseExpired(topics, held),
    });
  }

  /** Starts the task's consumer and retry forwarder in the background; a failed start is tried again on the next call. */
  function startConsuming(task: string): TaskRuntime {
    const running = runtime(task);
    const start = ensureTopics(task).then(() => Promise.all([running.consumer.start(), running.forwarder.start()]));
    start.catch((error: unknown) => logger().error("could not start consuming a task; the next call tries again", { task, error: errorMessage(error) }));
    return running;
  }

  function encode(job: JobCard): Buffer {
    let value: Buffer;
    try {
      value = encodeCard(job);
    } catch (error) {
      throw new ValidationError(
        `Payload of task "${job.task}" cannot be serialized to JSON (${errorMessage(error)}): remove cycles, BigInt and other non-JSON values.`,
        { role: "queue", integration: "kafka", tenantId: job.tenantId, cause: error, details: { task: job.task } },
      );
    }
    if (value.length > options.maxPayloadBytes) {
      throw kafkaError(
        `Job card of task "${job.task}" is ${value.length} bytes, over the limit of ${options.maxPayloadBytes} bytes (maxPayloadBytes): ` +
          "store the large data elsewhere (the data role or object storage) and put its id in the payload.",
        "PAYLOAD_TOO_LARGE",
        "queue",
        { tenantId: job.tenantId, details: { task: job.task, bytes: value.length, maxBytes: options.maxPayloadBytes } },
      );
    }
    return value;
  }

  /** The record that carries a job: to the main topic when due, else to the retry level that fits its time. */
  function jobRecord(topics: TaskTopics, job: JobCard, value: Buffer = encode(job)): ProduceRecord {
    const key = job.orderingKey ?? null;
    const dueAt = job.scheduledFor === null ? 0 : Date.parse(job.scheduledFor);
    if (dueAt > Date.now()) return retryRecord(topics, value, key, dueAt);
    return { topic: topics.main, key, value };
  }

  async function publishCard<P>(job: JobCard<P>, value: Buffer): Promise<JobCard<P>> {
    const topics = await ensureTopics(job.task);
    if (job.idempotencyKey === undefined) {
      await sender.send([jobRecord(topics, job as JobCard, value)], "queue");
      return job;
    }
    const result = await idempotency.publishOnce(job.tenantId, job.task, job.idempotencyKey, async () => {
      await sender.send([jobRecord(topics, job as JobCard, value)], "queue");
      return job as JobCard;
    });
    if (result.duplicate) logger().debug("publish skipped: idempotency key already used", { task: job.task, jobId: result.job.id, tenantId: job.tenantId });
    return result.job as JobCard<P>;
  }

  function deadLetterRecord(topics: TaskTopics, value: Buffer | null, key: string | null, letter: { id: string; reason: DeadLetterReason; error: SerializedError; attempts: number; tenantId?: string; source?: ConsumedMessage }): ProduceRecord {
    return {
      topic: topics.deadLetter,
      key,
      value,
      partition: 0,
      headers: {
        [HEADER.id]: letter.id,
        [HEADER.reason]: letter.reason,
        [HEADER.error]: JSON.stringify(letter.error),
        [HEADER.attempts]: String(letter.attempts),
        [HEADER.deadAt]: new Date().toISOString(),
        [HEADER.task]: topics.task,
        ...(letter.tenantId !== undefined ? { [HEADER.tenant]: letter.tenantId } : {}),
        ...(letter.source !== undefined ? { [HEADER.source]: `${letter.source.topic}/${letter.source.partition}/${letter.source.offset}` } : {}),
      },
    };
  }

  async function deadLetterInvalid(topics: TaskTopics, message: ConsumedMessage, reason: string): Promise<void> {
    const id = randomUUID();
    const error: SerializedError = {
      name: "InvalidJobCard",
      code: "INVALID_JOB_CARD",
      message: `Record ${message.partition}/${message.offset} on topic "${topics.main}" is not a valid job card: ${reason}`,
    };
    await sender.send([deadLetterRecord(topics, message.value, id, { id, reason: "invalid-job-card", error, attempts: 0, source: message })], "queue");
    logger().error("record on a task topic is not a valid job card; it went to the dead-letter topic", {
      task: topics.task,
      topic: topics.main,
      partition: message.partition,
      offset: message.offset,
      deadLetterId: id,
      reason,
    });
  }

  async function deadLetterJob(topics: TaskTopics, job: JobCard, reason: DeadLetterReason, error: SerializedError, source?: ConsumedMessage): Promise<void> {
    const failed: JobCard = { ...job, lastError: error };
    await sender.send([deadLetterRecord(topics, encode(failed), job.id, { id: job.id, reason, error, attempts: job.attempts, tenantId: job.tenantId, ...(source ? { source } : {}) })], "queue");
    logger().warn("job dead-lettered", { task: job.task, jobId: job.id, reason, attempts: job.attempts, tenantId: job.tenantId, error: error.message });
  }

  async function leaseExpired(topics: TaskTopics, held: HeldJob): Promise<"requeue" | "settled"> {
    const error = serializeError(
      new BridgeError(
        `Lease of job ${held.job.id} of task "${topics.task}" expired before the consumer committed or failed it; raise leaseMs above the handler's run time.`,
        { code: "LEASE_EXPIRED", role: "queue", integration: "kafka", tenantId: held.job.tenantId },
      ),
    );
    if (held.job.attempts >= held.job.maxAttempts) {
      await deadLetterJob(topics, held.job, "max-attempts", error, held.entry.message);
      return "settled";
    }
    logger().warn("lease expired; the job goes back to the queue", { task: topics.task, jobId: held.job.id, attempts: held.job.attempts, tenantId: held.job.tenantId });
    held.entry.card = { ...held.entry.card, lastError: error };
    return "requeue";
  }

  /**
   * Retries or dead-letters a failed job that the caller claimed, then marks
   * its record done. On an error the record goes back to ready.
   */
  async function settleFailure(running: TaskRuntime, entry: Entry, job: JobCard, error: unknown, failOptions: FailOptions = {}): Promise<FailOutcome> {
    const decision = decideFailure(job, error, failOptions);
    const lastError = serializeError(error);
    try {
      if (decision.action === "dead") {
        await deadLetterJob(running.topics, job, decision.reason, lastError, entry.message);
        running.consumer.settled(entry);
        return { action: "dead", attempts: job.attempts, reason: decision.reason };
      }
      const delayMs = failOptions.delayMs ?? computeBackoffMs(job.attempts, backoff);
      const retryAt = Date.now() + delayMs;
      const retried: JobCard = { ...job, lastError, scheduledFor: new Date(retryAt).toISOString() };
      await sender.send([retryRecord(running.topics, encode(retried), job.orderingKey ?? null, retryAt)], "queue");
      running.consumer.settled(entry);
      logger().info("job failed; retry scheduled", { task: job.task, jobId: job.id, attempts: job.attempts, retryAt: retried.scheduledFor, tenantId: job.tenantId, error: lastError.message });
      return { action: "retry", attempts: job.attempts, retryAt: retried.scheduledFor as string };
    } catch (settleError) {
      running.consumer.requeue(entry);
      throw settleError;
    }
  }

  function leaseOf(lease: Lease, action: string): { running: TaskRuntime; entry: Entry } {
    const running = lease?.job?.task === undefined ? undefined : runtimes.get(lease.job.task);
    const entry = running?.consumer.claim(lease?.leaseId);
    if (running === undefined || entry === undefined) {
      throw kafkaError(
        `Cannot ${action} job ${lease?.job?.id ?? "(unknown)"} of task "${lease?.job?.task ?? "(unknown)"}": lease ${JSON.stringify(lease?.leaseId)} expired, was already settled, ` +
          "or its partition moved to another consumer, and the job will be delivered again. Keep handlers within leaseMs, or fetch with a longer leaseMs.",
        "LEASE_EXPIRED",
        "queue",
        { tenantId: lease?.job?.tenantId, details: { leaseId: lease?.leaseId, jobId: lease?.job?.id } },
      );
    }
    return { running, entry };
  }

  async function committedLag(group: string, topic: string): Promise<number> {
    const client = deps.client();
    const [ends, committed] = await Promise.all([client.admin.topicOffsets(topic), client.admin.committedOffsets(group, topic)]);
    let lag = 0;
    for (const { partition, low, high } of ends) {
      const offset = committed.find((entry) => entry.partition === partition)?.offset ?? -1;
      lag += Math.max(0, high - (offset >= 0 ? Math.max(offset, low) : low));
    }
    return lag;
  }

  const queue: KafkaQueue = {
    capabilities,
    names,
    ensureTopics,

    async publish<P>(task: string, payload: P, publishOptions?: PublishOptions): Promise<JobCard<P>> {
      const tenantId = currentTenantId();
      assertOpen(tenantId);
      const job = createJobCard(task, payload, publishOptions, tenantId);
      return publishCard(job, encode(job as JobCard));
    },

    async publishBatch(items: PublishBatchItem[]): Promise<JobCard[]> {
      if (!Array.isArray(items)) {
        throw new ValidationError(`publishBatch expects an array of { task, payload, options }, got ${JSON.stringify(items)}.`, { role: "queue", integration: "kafka" });
      }
      const tenantId = currentTenantId();
      assertOpen(tenantId);
      // Every card is built and checked before any is sent, so a bad item sends nothing.
      const built = items.map((item, index) => {
        try {
          const job = createJobCard(item?.task, item?.payload, item?.options, tenantId);
          return { job, value: encode(job as JobCard) };
        } catch (error) {
          if (error instanceof BridgeError) {
            error.message = `publishBatch item ${index}: ${error.message}`;
            error.details["index"] = index;
          }
          throw error;
        }
      });

      const plain = built.filter(({ job }) => job.idempotencyKey === undefined);
      const records: ProduceRecord[] = [];
      for (const { job, value } of plain) records.push(jobRecord(await ensureTopics(job.task), job as JobCard, value));
      const keyed = built.filter(({ job }) => job.idempotencyKey !== undefined);
      const [, keyedCards] = await Promise.all([sender.send(records, "queue"), Promise.all(keyed.map(({ job, value }) => publishCard(job, value)))]);

      const byId = new Map(keyed.map(({ job }, index) => [job.id, keyedCards[index] as JobCard]));
      return built.map(({ job }) => byId.get(job.id) ?? (job as JobCard));
    },

    async fetchBatch<P>(task: string, fetchOptions: FetchOptions): Promise<Lease<P>[]> {
      const tenantId = currentTenantId();
      validateTaskName(task, tenantId);
      const { max, leaseMs, waitMs } = checkFetchOptions(task, fetchOptions, options.leaseMs, tenantId);
      assertOpen(tenantId);
      const running = startConsuming(task);

      const deadline = Date.now() + waitMs;
      for (;;) {
        const held = running.consumer.take(max, leaseMs);
        if (held.length > 0) {
          return held.map((item) => ({ job: item.job as JobCard<P>, leaseId: item.leaseId, leaseExpiresAt: Date.now() + leaseMs }));
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0 || closed) return [];
        await running.consumer.waitForWork(remaining);
      }
    },

    async commit(lease: Lease): Promise<void> {
      const { running, entry } = leaseOf(lease, "commit");
      running.consumer.settled(entry);
    },

    async fail(lease: Lease, error: unknown, failOptions?: FailOptions): Promise<FailOutcome> {
      const checked = validateFailOptions(failOptions, lease?.job?.tenantId);
      const { running, entry } = leaseOf(lease, "fail");
      return settleFailure(running, entry, lease.job, error, checked);
    },

    consume<P>(task: string, handler: JobHandler<P>, consumeOptions: ConsumeOptions = {}): Consumer {
      validateTaskName(task);
      assertOpen();
      if (typeof handler !== "function") {
        throw new ValidationError(`consume("${task}") needs a handler function, got ${typeof handler}.`, { role: "queue", integration: "kafka" });
      }
      const concurrency = consumeOptions.concurrency ?? 1;
      if (!Number.isInteger(concurrency) || concurrency < 1) {
        throw new ValidationError(`Invalid consume concurrency ${JSON.stringify(concurrency)} for task "${task}": pass a whole number of 1 or more.`, {
          role: "queue",
          integration: "kafka",
        });
      }
      const running = startConsuming(task);
      const consumer: QueueConsumer = new QueueConsumer(
        running.consumer,
        handler as JobHandler,
        concurrency,
        logger,
        (entry, job, error) => settleFailure(running, entry, job, error),
        () => running.localConsumers.delete(consumer),
      );
      running.localConsumers.add(consumer);
      logger().info("consumer started", { task, concurrency, group: running.topics.group });
      return consumer;
    },

    consumeExactlyOnce<P>(task: string, handler: ExactlyOnceHandler<P>, exactlyOptions: ExactlyOnceOptions = {}): Consumer {
      validateTaskName(task);
      assertOpen();
      const consumer = consumeExactlyOnce(
        {
          client: deps.client,
          options,
          logger,
          topics: names(task),
          ensureTopics: () => ensureTopics(task).then(() => undefined),
          encode,
          jobRecord: (topics, job) => jobRecord(topics, job),
          taskTopics: (name) => ensureTopics(name),
          backoff,
          deadLetterRecord: (topics, job, reason, error, source) =>
            deadLetterRecord(topics, encode({ ...job, lastError: error }), job.id, { id: job.id, reason, error, attempts: job.attempts, tenantId: job.tenantId, source }),
          invalidRecord: (topics, message, reason) => {
            const id = randomUUID();
            return deadLetterRecord(topics, message.value, id, {
              id,
              reason: "invalid-job-card",
              error: { name: "InvalidJobCard", code: "INVALID_JOB_CARD", message: `Record ${message.partition}/${message.offset} on topic "${topics.main}" is not a valid job card: ${reason}` },
              attempts: 0,
              source: message,
            });
          },
        },
        handler as ExactlyOnceHandler,
        exactlyOptions,
        () => exactlyOnceConsumers.delete(consumer),
      );
      exactlyOnceConsumers.add(consumer);
      return consumer;
    },

    async listDeadLetters(task: string, listOptions: { limit?: number } = {}): Promise<DeadLetter[]> {
      validateTaskName(task);
      assertOpen();
      const limit = listOptions.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1) {
        throw new ValidationError(`Invalid listDeadLetters limit ${JSON.stringify(limit)} for task "${task}": pass a whole number of 1 or more.`, {
          role: "queue",
          integration: "kafka",
        });
      }
      await ensureTopics(task);
      return (await runtime(task).deadLetters.list()).slice(0, limit);
    },

    async replayDeadLetters(task: string, replayOptions: { ids?: string[] } = {}): Promise<number> {
      validateTaskName(task);
      assertOpen();
      const topics = await ensureTopics(task);
      const store = runtime(task).deadLetters;
      const requested = replayOptions.ids === undefined ? undefined : new Set(replayOptions.ids);
      // A record that was never a valid job card has nothing to replay, so it stays.
      const chosen = (await store.list()).filter((letter) => letter.job !== null && (requested === undefined || requested.has(letter.id)));
      if (chosen.length === 0) return 0;

      await sender.send(
        chosen.map((letter) => jobRecord(topics, { ...(letter.job as JobCard), attempts: 0, scheduledFor: null })),
        "queue",
      );
      // NOTE: a crash between the two sends delivers the jobs and keeps their dead letters, so a second replay would send them again.
      await store.markReplayed(chosen.map((letter) => letter.id));
      logger().info("dead letters replayed", { task, count: chosen.length });
      return chosen.length;
    },

    async purgeDeadLetters(task: string): Promise<number> {
      validateTaskName(task);
      assertOpen();
      await ensureTopics(task);
      const count = await runtime(task).deadLetters.purge();
      logger().info("dead letters purged", { task, count });
      return count;
    },

    async stats(task: string): Promise<QueueStats> {
      validateTaskName(task);
      assertOpen();
      const topics = await ensureTopics(task);
      const running = runtimes.get(task);
      const [lag, delayedPerLevel, group, dead] = await Promise.all([
        committedLag(topics.group, topics.main),
        Promise.all(topics.retry.map((level) => committedLag(topics.retryGroup, level.topic))),
        deps.client().admin.describeGroup(topics.group),
        runtime(task).deadLetters.list(),
      ]);
      const delayed = delayedPerLevel.reduce((sum, value) => sum + value, 0);
      const local = running?.consumer.counts() ?? { ready: 0, leased: 0, done: 0 };
      // NOTE: lag counts transaction markers too, so depth can be one above the jobs waiting per partition written by a transaction.
      return {
        task,
        depth: Math.max(0, lag - local.leased - local.done) + delayed,
        // NOTE: inFlight counts jobs held by this process only; Kafka does not track what other processes hold.
        inFlight: local.leased,
        delayed,
        dead: dead.length,
        consumers: group.members,
      };
    },

    async lag(): Promise<Record<string, number>> {
      const result: Record<string, number> = {};
      const running = [...runtimes.values()].filter((entry) => entry.consumer.started);
      const lags = await Promise.all(running.map((entry) => committedLag(entry.topics.group, entry.topics.main)));
      running.forEach((entry, index) => {
        result[entry.topics.group] = lags[index] as number;
      });
      return result;
    },

    async replayFrom(task: string, target: ReplayTarget): Promise<Array<{ partition: number; offset: number }>> {
      validateTaskName(task);
      assertOpen();
      const topics = await ensureTopics(task);
      const admin = deps.client().admin;
      const ends = await admin.topicOffsets(topics.main);
      const offsets = await replayOffsets(admin, topics, ends, target);

      // The group must be empty to move its offsets, so this process leaves first and rejoins after.
      const running = runtime(task);
      const resume = running.consumer.started || running.localConsumers.size > 0;
      await running.consumer.stop();
      running.consumer = newTaskConsumer(topics);
      for (const local of running.localConsumers) local.attach(running.consumer);

      try {
        await admin.setCommittedOffsets(topics.group, topics.main, offsets);
      } catch (error) {
        const description = await admin.describeGroup(topics.group).catch(() => ({ state: "unknown", members: -1 }));
        throw kafkaError(
          `Cannot replay task "${task}": moving the offsets of consumer group "${topics.group}" failed (${errorMessage(error)}); the group is ${description.state} with ${description.members} member(s). ` +
            "Stop the task's consumers in other processes and call replayFrom again.",
          "CONFLICT",
          "queue",
          { cause: error, details: { task, group: topics.group, state: description.state, members: description.members } },
        );
      } finally {
        if (resume) startConsuming(task);
      }
      logger().info("task replayed from offsets", { task, group: topics.group, offsets });
      return offsets;
    },

    async close(closeOptions: { drainMs?: number } = {}): Promise<void> {
      if (closed) return;
      closed = true;
      const drainMs = closeOptions.drainMs ?? 10_000;
      const locals = [...runtimes.values()].flatMap((running) => [...running.localConsumers]);
      await Promise.all([...locals.map((consumer) => consumer.stop({ drainMs })), ...[...exactlyOnceConsumers].map((consumer) => consumer.stop({ drainMs }))]);
      await Promise.all(
        [...runtimes.values()].map(async (running) => {
          await running.consumer.stop();
          await running.forwarder.stop();
          await running.deadLetters.stop();
        }),
      );
      runtimes.clear();
    },
  };
  return queue;
}

async function replayOffsets(
  admin: ClientAdmin,
  topics: TaskTopics,
  ends: Array<{ partition: number; low: number; high: number }>,
  target: ReplayTarget,
): Promise<Array<{ partition: number; offset: number }>> {
  if (target !== null && typeof target === "object" && "offset" in target) {
    const { offset, partition } = target;
    if (!Number.isInteger(offset) || offset < 0) {
      throw new ValidationError(`Invalid replay offset ${JSON.stringify(offset)} for task "${topics.task}": pass a whole number of 0 or more.`, {
        role: "queue",
        integration: "kafka",
      });
    }
    if (partition !== undefined && !ends.some((entry) => entry.partition === partition)) {
      throw new ValidationError(
        `Invalid replay partition ${JSON.stringify(partition)} for task "${topics.task}": topic "${topics.main}" has partitions ${ends.map((entry) => entry.partition).join(", ")}.`,
        { role: "queue", integration: "kafka" },
      );
    }
    return ends
      .filter((entry) => partition === undefined || entry.partition === partition)
      .map((entry) => ({ partition: entry.partition, offset: Math.min(Math.max(offset, entry.low), entry.high) }));
  }
  if (target !== null && typeof target === "object" && "time" in target) {
    const time = new Date(target.time).getTime();
    if (Number.isNaN(time)) {
      throw new ValidationError(`Invalid replay time ${JSON.stringify(target.time)} for task "${topics.task}": pass a Date, an ISO 8601 string or epoch milliseconds.`, {
        role: "queue",
        integration: "kafka",
      });
    }
    return admin.offsetsForTime(topics.main, time);
  }
  throw new ValidationError(`Invalid replay target ${JSON.stringify(target)} for task "${topics.task}": pass { offset, partition? } or { time }.`, {
    role: "queue",
    integration: "kafka",
  });
}

function checkFetchOptions(task: string, fetchOptions: FetchOptions, defaultLeaseMs: number, tenantId: string): { max: number; leaseMs: number; waitMs: number } {
  if (fetchOptions === null || typeof fetchOptions !== "object") {
    throw new ValidationError(`Invalid fetch options for task "${task}": pass an object such as { max: 10 }.`, { role: "queue", integration: "kafka", tenantId });
  }
  const { max, leaseMs = defaultLeaseMs, waitMs = 0 } = fetchOptions;
  const problems: string[] = [];
  if (typeof max !== "number" || !Number.isInteger(max) || max < 1) problems.push(`max must be a whole number of 1 or more (got ${String(max)})`);
  if (typeof leaseMs !== "number" || !Number.isInteger(leaseMs) || leaseMs < 1) problems.push(`leaseMs must be a whole number of 1 or more (got ${String(leaseMs)})`);
  if (typeof waitMs !== "number" || !Number.isFinite(waitMs) || waitMs < 0) problems.push(`waitMs must be a number of 0 or more (got ${String(waitMs)})`);
  if (problems.length > 0) {
    throw new ValidationError(`Invalid fetch options for task "${task}": ${problems.join("; ")}.`, { role: "queue", integration: "kafka", tenantId, details: { task, problems } });
  }
  return { max, leaseMs, waitMs };
}
