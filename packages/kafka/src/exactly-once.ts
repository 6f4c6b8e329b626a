// Exactly-once output for handlers that produce more work: each job runs in a
// Kafka transaction that contains what the handler publishes and the consumed
// offset, so a crash between the two loses and duplicates nothing for a
// read_committed reader. Each input partition has its own transactional id,
// so the consumer that takes a partition over fences the one it replaces and
// aborts its open transaction.
import {
  computeBackoffMs,
  createHandlerTimeoutError,
  createJobCard,
  currentTenantId,
  decideFailure,
  runWithTenant,
  serializeError,
  SpanKind,
  withSpan,
  type Consumer,
  type DeadLetterReason,
  type JobCard,
  type Logger,
  type PublishOptions,
  type SerializedError,
} from "@bridge/core";
import { decodeCard } from "./card.js";
import type { ClientTransaction, ConsumedMessage, KafkaClient, ProduceRecord, TransactionalProducer } from "./client.js";
import { kafkaError, type ResolvedOptions } from "./options.js";
import { retryRecord } from "./retry.js";
import { errorMessage } from "./sender.js";
import type { TaskTopics } from "./topics.js";

export interface ExactlyOnceContext {
  /** Aborted when the job runs past its `timeoutMs` or the consumer stops. */
  signal: AbortSignal;
  /** Publishes a job within this job's transaction; it becomes visible only if the job commits. */
  publish<P>(task: string, payload: P, options?: PublishOptions): Promise<JobCard<P>>;
  /** Sends records to any topic within this job's transaction. */
  send(topic: string, records: Array<{ key?: string | null; value: Buffer | string | null; headers?: Record<string, string> }>): Promise<void>;
}

export type ExactlyOnceHandler<P = unknown> = (job: JobCard<P>, context: ExactlyOnceContext) => Promise<void>;

export interface ExactlyOnceOptions {
  /** Prefix of the transactional ids, one per input partition: `<prefix>.<partition>`. Default `<groupId>.<task>`. */
  transactionalIdPrefix?: string;
}

export interface ExactlyOnceDeps {
  client: () => KafkaClient;
  options: ResolvedOptions;
  logger: () => Logger;
  topics: TaskTopics;
  ensureTopics(): Promise<void>;
  taskTopics(task: string): Promise<TaskTopics>;
  encode(job: JobCard): Buffer;
  jobRecord(topics: TaskTopics, job: JobCard): ProduceRecord;
  backoff: { baseMs: number; maxMs: number };
  deadLetterRecord(topics: TaskTopics, job: JobCard, reason: DeadLetterReason, error: SerializedError, source: ConsumedMessage): ProduceRecord;
  invalidRecord(topics: TaskTopics, message: ConsumedMessage, reason: string): ProduceRecord;
}

/** kafkajs error types that mean another producer with the same transactional id took over. */
const FENCED = new Set(["INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"]);

/** Wrapper of an error from a handler's own code, which keeps it apart from a failed transaction. */
class HandlerFailure {
  constructor(readonly error: unknown) {}
}

export function consumeExactlyOnce(deps: ExactlyOnceDeps, handler: ExactlyOnceHandler, exactlyOptions: ExactlyOnceOptions, onStop: () => void): Consumer {
  const { topics, logger } = deps;
  const prefix = exactlyOptions.transactionalIdPrefix ?? topics.group;
  const producers = new Map<number, Promise<TransactionalProducer>>();
  const controllers = new Set<AbortController>();
  const idle = new Set<() => void>();
  let running = 0;
  let stopped = false;

  function producerFor(partition: number): Promise<TransactionalProducer> {
    let producer = producers.get(partition);
    if (producer === undefined) {
      producer = deps.client().transactionalProducer(`${prefix}.${partition}`);
      producers.set(partition, producer);
      producer.catch(() => producers.delete(partition));
    }
    return producer;
  }

  async function inTransaction(partition: number, work: (transaction: ClientTransaction) => Promise<void>, offset: number): Promise<void> {
    const producer = await producerFor(partition);
    const transaction = await producer.begin();
    try {
      await work(transaction);
      await transaction.sendOffsets(topics.group, [{ topic: topics.main, partition, offset }]);
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      if (FENCED.has((error as { type?: string })?.type ?? "")) {
        // Another consumer owns this partition now; this producer can no longer write.
        producers.delete(partition);
        await producer.close().catch(() => undefined);
      }
      throw error;
    }
  }

  async function runHandler(job: JobCard, transaction: ClientTransaction): Promise<void> {
    const controller = new AbortController();
    controllers.add(controller);
    let timer: NodeJS.Timeout | undefined;
    const context: ExactlyOnceContext = {
      signal: controller.signal,
      async publish<P>(task: string, payload: P, publishOptions?: PublishOptions): Promise<JobCard<P>> {
        const card = createJobCard(task, payload, publishOptions, currentTenantId());
        deps.encode(card as JobCard);
        const target = await deps.taskTopics(task);
        await transaction.send([deps.jobRecord(target, card as JobCard)]);
        return card;
      },
      async send(topic, records) {
        await transaction.send(records.map((record) => ({ topic, key: record.key ?? null, value: record.value, ...(record.headers ? { headers: record.headers } : {}) })));
      },
    };
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = createHandlerTimeoutError(job);
        controller.abort(error);
        reject(error);
      }, job.timeoutMs);
    });
    try {
      await Promise.race([
        runWithTenant(job.tenantId, () =>
          withSpan(
            `${job.task} process`,
            { "messaging.system": "kafka", "messaging.destination.name": topics.main, "messaging.message.id": job.id },
            () => handler(job, context),
            { parent: job.traceparent, kind: SpanKind.CONSUMER },
          ),
        ),
        timedOut,
      ]);
    } catch (error) {
      throw new HandlerFailure(error);
    } finally {
      clearTimeout(timer);
      controllers.delete(controller);
    }
  }

  async function process(message: ConsumedMessage): Promise<void> {
    const next = message.offset + 1;
    const parsed = decodeCard(message.value, topics.task);
    if (!parsed.ok) {
      await inTransaction(message.partition, (transaction) => transaction.send([deps.invalidRecord(topics, message, parsed.reason)]), next);
      logger().error("record on a task topic is not a valid job card; it went to the dead-letter topic", { task: topics.task, partition: message.partition, offset: message.offset, reason: parsed.reason });
      return;
    }
    const card = parsed.job;
    const dueAt = card.scheduledFor === null ? 0 : Date.parse(card.scheduledFor);
    if (dueAt > Date.now() + 50) {
      await inTransaction(message.partition, (transaction) => transaction.send([retryRecord(topics, deps.encode(card), message.key, dueAt)]), next);
      return;
    }

    const job: JobCard = { ...card, attempts: card.attempts + 1 };
    try {
      await inTransaction(message.partition, (transaction) => runHandler(job, transaction), next);
      return;
    } catch (error) {
      if (!(error instanceof HandlerFailure)) throw error;
      await settleFailure(message, job, error.error, next);
    }
  }

  /** Retries or dead-letters a failed job in a transaction of its own, with the offset. */
  async function settleFailure(message: ConsumedMessage, job: JobCard, error: unknown, next: number): Promise<void> {
    const decision = decideFailure(job, error);
    const lastError = serializeError(error);
    if (decision.action === "dead") {
      await inTransaction(message.partition, (transaction) => transaction.send([deps.deadLetterRecord(topics, job, decision.reason, lastError, message)]), next);
      logger().warn("job dead-lettered", { task: job.task, jobId: job.id, reason: decision.reason, attempts: job.attempts, tenantId: job.tenantId, error: lastError.message });
      return;
    }
    const retryAt = Date.now() + computeBackoffMs(job.attempts, deps.backoff);
    const retried: JobCard = { ...job, lastError, scheduledFor: new Date(retryAt).toISOString() };
    await inTransaction(message.partition, (transaction) => transaction.send([retryRecord(topics, deps.encode(retried), job.orderingKey ?? null, retryAt)]), next);
    logger().info("job failed; retry scheduled", { task: job.task, jobId: job.id, attempts: job.attempts, retryAt: retried.scheduledFor, tenantId: job.tenantId, error: lastError.message });
  }

  const consumer = deps.client().consumer(
    {
      groupId: topics.group,
      topics: [topics.main],
      fromBeginning: true,
      autoResolve: false,
      partitionsConsumedConcurrently: deps.options.queuePartitions,
    },
    {
      onBatch: async (batch, control) => {
        for (const message of batch.messages) {
          if (stopped || !control.isActive()) return;
          running += 1;
          try {
            await process(message);
          } finally {
            running -= 1;
            if (running === 0) for (const notify of [...idle]) notify();
          }
          control.resolveOffset(message.offset);
          await control.heartbeat();
        }
      },
      onCrash: (error, restarting) =>
        logger().warn("exactly-once consumer failed; it starts again from the last committed offset", { task: topics.task, error: errorMessage(error), restarting }),
    },
  );

  deps
    .ensureTopics()
    .then(() => consumer.start())
    .then(() => logger().info("exactly-once consumer started", { task: topics.task, group: topics.group, transactionalIdPrefix: prefix }))
    .catch((error: unknown) => logger().error("could not start an exactly-once consumer", { task: topics.task, error: errorMessage(error) }));

  return {
    async stop(stopOptions: { drainMs?: number } = {}): Promise<void> {
      if (stopped) return;
      stopped = true;
      onStop();
      if (running > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, stopOptions.drainMs ?? 10_000);
          function done(): void {
            clearTimeout(timer);
            idle.delete(done);
            resolve();
          }
          idle.add(done);
        });
      }
      // A handler still running loses its transaction, which aborts; the job is delivered again.
      for (const controller of controllers) controller.abort(kafkaError("The exactly-once consumer stopped before the job finished.", "CLOSED", "queue"));
      await consumer.stop();
      for (const producer of producers.values()) await producer.then((open) => open.close()).catch(() => undefined);
      producers.clear();
    },
  };
}
