// Queue role on RabbitMQ: one durable work queue per task behind the direct
// exchange `<prefix>.jobs`, with publisher confirms and manual acks. Retries
// and delays wait in TTL wait queues. Failures are dead-lettered into
// `<work>.dlq` through `<prefix>.dlx` with the reason, error and attempts in headers.
import { randomUUID } from "node:crypto";
import type { Channel, ChannelModel, ConsumeMessage, GetMessage, Message, Options } from "amqplib";
import {
  assertPayloadSize,
  BridgeError,
  computeBackoffMs,
  createHandlerTimeoutError,
  createJobCard,
  currentContext,
  currentTenantId,
  decideFailure,
  isBridgeError,
  runWithTenant,
  serializeError,
  validateFailOptions,
  validateTaskName,
  ValidationError,
  DEFAULT_LEASE_MS,
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
  type QueueCapabilities,
  type QueueRole,
  type QueueStats,
  type SerializedError,
} from "@bridge/core";
import { decodeJobCard } from "./card.js";
import { errorMessage, type AmqpConnection, type ConnectionHook } from "./connection.js";
import { IdempotencyRecord } from "./idempotency.js";
import { rabbitError, type ResolvedOptions } from "./options.js";
import { declareTask, pickDelayLevel, taskQueueNames, type TaskQueueNames } from "./topology.js";

/** Headers of a dead-lettered message, read back by `listDeadLetters`. */
export const HEADER = {
  reason: "x-bridge-reason",
  error: "x-bridge-error",
  attempts: "x-bridge-attempts",
  deadAt: "x-bridge-dead-at",
  task: "x-bridge-task",
  tenant: "x-bridge-tenant",
} as const;

export interface RabbitMQQueueOptions {
  /** Lease of a fetched job when `fetchBatch` names none, in ms. Default 30,000. */
  leaseMs?: number;
  /** Delay cap of the first retry, in ms; doubles per attempt. Default 1,000. */
  backoffBaseMs?: number;
  /** Largest retry delay, in ms. Default 300,000. */
  backoffMaxMs?: number;
}

export interface RabbitMQQueue extends QueueRole {
  /** Exchange and queue names of a task, for tools that inspect the broker. */
  names(task: string): TaskQueueNames;
}

/** A delivery this process holds unacked, either leased by `fetchBatch` or running in a consumer. */
interface UnackedDelivery {
  message: Message;
  channel: Channel;
  /** False once the channel closed: the broker has requeued the message, so it must not be acked. */
  isLive(): boolean;
  names: TaskQueueNames;
}

/** A job whose handler is running in a consumer. */
interface RunningJob {
  job: JobCard;
  controller: AbortController;
  /** Epoch ms after which the sweep aborts the handler. */
  deadline: number;
  reject: ((error: unknown) => void) | undefined;
}

/**
 * Runs `fn` in the job's tenant. When the current context already is exactly
 * that tenant (no correlation id or actor), it calls `fn` directly: the
 * handler sees the same context, and a process that never set a tenant keeps
 * AsyncLocalStorage's promise hooks off.
 */
function runInTenant<T>(tenantId: string, fn: () => T): T {
  const context = currentContext();
  if (context.tenantId === tenantId && context.correlationId === undefined && context.actor === undefined) return fn();
  return runWithTenant(tenantId, fn);
}

interface LeaseEntry extends UnackedDelivery {
  job: JobCard;
  timer: NodeJS.Timeout;
}

export function createQueue(connection: AmqpConnection, options: ResolvedOptions, queueOptions: RabbitMQQueueOptions = {}): RabbitMQQueue {
  const defaultLeaseMs = queueOptions.leaseMs ?? DEFAULT_LEASE_MS;
  const backoff = { baseMs: queueOptions.backoffBaseMs ?? 1_000, maxMs: queueOptions.backoffMaxMs ?? 300_000 };
  const capabilities: QueueCapabilities = {
    // Quorum queues on RabbitMQ 3.x ignore message priority (4.0 added two levels, 4.3 x-max-priority), so only classic queues declare it.
    priority: !options.quorumQueues,
    delay: true,
    orderingByKey: false,
    replayFromOffset: false,
    persistent: true,
    idempotentPublish: true,
  };

  const declared = new Map<string, Promise<void>>();
  const leases = new Map<string, LeaseEntry>();
  const consumers = new Set<QueueConsumer>();
  const idempotency = new IdempotencyRecord(options.idempotencyTtlMs, options.idempotencyMaxKeys);
  const instance = randomUUID().slice(0, 8);
  let leaseChannel: { channel: Promise<Channel>; live: boolean } | undefined;
  let closed = false;

  const logger = (): Logger => connection.logger;

  const hook: ConnectionHook = {
    async onConnect(model: ChannelModel) {
      let channel: Channel | undefined;
      for (const task of [...declared.keys()]) {
        try {
          channel ??= await model.createChannel();
          await declareTask(channel, names(task), task, options.quorumQueues);
        } catch (error) {
          if (!isBridgeError(error, "CONFLICT")) throw error;
          // A queue changed while the connection was down must not block the reconnect: the next publish to the task declares it again and reports the error.
          declared.delete(task);
          ready.delete(task);
          channel = undefined;
          logger().error("could not declare a task's queues again after reconnecting", { task, error: errorMessage(error) });
        }
      }
      await channel?.close().catch(() => undefined);
    },
    onDisconnect() {
      if (leaseChannel) leaseChannel.live = false;
      leaseChannel = undefined;
      // The broker requeues every unacked delivery of the lost connection, so these leases are void.
      for (const [id, entry] of leases) {
        clearTimeout(entry.timer);
        leases.delete(id);
      }
    },
  };
  connection.addHook(hook);

  const namesByTask = new Map<string, TaskQueueNames>();
  /** Tasks whose topology is declared on the broker, so publishing needs no wait. */
  const ready = new Set<string>();

  function names(task: string): TaskQueueNames {
    let taskNames = namesByTask.get(task);
    if (!taskNames) {
      taskNames = taskQueueNames(options.queuePrefix, task, options.delayLevelsMs);
      namesByTask.set(task, taskNames);
    }
    return taskNames;
  }

  function assertOpen(tenantId?: string): void {
    if (closed) {
      throw rabbitError("The RabbitMQ queue is closed. Create a new Bridge to use the queue again.", "CLOSED", "queue", { tenantId });
    }
  }

  function ensureTask(task: string): Promise<void> {
    let pending = declared.get(task);
    if (!pending) {
      pending = connection.withAdminChannel("queue", (channel) => declareTask(channel, names(task), task, options.quorumQueues));
      declared.set(task, pending);
      pending.then(
        () => ready.add(task),
        () => declared.delete(task),
      );
    }
    return pending;
  }

  function publishProperties(job: JobCard): Options.Publish {
    return {
      persistent: true,
      contentType: "application/json",
      messageId: job.id,
      ...(options.quorumQueues ? {} : { priority: job.priority }),
    };
  }

  function encode(job: JobCard): Buffer {
    let text: string;
    try {
      text = JSON.stringify(job);
    } catch {
      // assertPayloadSize throws the ValidationError that names the problem (a cycle, a BigInt).
      assertPayloadSize(job.payload, options.maxPayloadBytes, { task: job.task, tenantId: job.tenantId });
      throw new ValidationError(`Job card of task "${job.task}" cannot be serialized to JSON.`, { role: "queue", tenantId: job.tenantId });
    }
    const content = Buffer.from(text, "utf8");
    if (content.length > options.maxPayloadBytes) {
      throw new BridgeError(
        `[@bridge/rabbitmq] Job card of task "${job.task}" is ${content.length} bytes, over the limit of ${options.maxPayloadBytes} bytes (RABBITMQ_MAX_PAYLOAD_BYTES): ` +
          "store the large data elsewhere (the data role or object storage) and put its id in the payload.",
        {
          code: "PAYLOAD_TOO_LARGE",
          role: "queue",
          integration: "rabbitmq",
          tenantId: job.tenantId,
          details: { task: job.task, bytes: content.length, maxBytes: options.maxPayloadBytes },
        },
      );
    }
    return content;
  }

  /** Sends a card to the work queue, or to a wait queue when it is scheduled later. */
  async function route(job: JobCard, content: Buffer = encode(job)): Promise<void> {
    const taskNames = names(job.task);
    if (!ready.has(job.task)) await ensureTask(job.task);
    const waitMs = job.scheduledFor === null ? 0 : Date.parse(job.scheduledFor) - Date.now();
    if (waitMs > 0) {
      const level = pickDelayLevel(waitMs, options.delayLevelsMs);
      const waitQueue = taskNames.wait.get(level) as string;
      await connection.publish({ exchange: "", routingKey: waitQueue, content, options: publishProperties(job), role: "queue" });
      return;
    }
    await connection.publish({ exchange: taskNames.jobsExchange, routingKey: job.task, content, options: publishProperties(job), role: "queue" });
  }

  /** Sends a new card, or returns the job already published under its idempotency key. */
  async function publishCard<P>(job: JobCard<P>, content: Buffer): Promise<JobCard<P>> {
    if (job.idempotencyKey === undefined) {
      await route(job, content);
      return job;
    }
    const result = await idempotency.publishOnce(job.tenantId, job.task, job.idempotencyKey, async () => {
      await route(job, content);
      return job;
    });
    if (result.duplicate) logger().debug("publish skipped: idempotency key already used", { task: job.task, jobId: result.job.id, tenantId: job.tenantId });
    return result.job as JobCard<P>;
  }

  async function deadLetter(delivery: UnackedDelivery, task: string, body: Buffer, letter: { reason: DeadLetterReason; error: SerializedError; attempts: number; tenantId?: string; jobId?: string }): Promise<void> {
    const deadAt = new Date().toISOString();
    await connection.publish({
      exchange: delivery.names.deadLetterExchange,
      routingKey: task,
      content: body,
      options: {
        persistent: true,
        messageId: letter.jobId ?? randomUUID(),
        contentType: letter.jobId ? "application/json" : delivery.message.properties.contentType,
        headers: {
          [HEADER.reason]: letter.reason,
          [HEADER.error]: JSON.stringify(letter.error),
          [HEADER.attempts]: letter.attempts,
          [HEADER.deadAt]: deadAt,
          [HEADER.task]: task,
          ...(letter.tenantId ? { [HEADER.tenant]: letter.tenantId } : {}),
        },
      },
      role: "queue",
    });
    ack(delivery);
    logger().warn("job dead-lettered", { task, jobId: letter.jobId, reason: letter.reason, attempts: letter.attempts, tenantId: letter.tenantId, error: letter.error.message });
  }

  function ack(delivery: UnackedDelivery): void {
    if (!delivery.isLive()) return;
    try {
      delivery.channel.ack(delivery.message);
    } catch (error) {
      logger().debug("ack skipped: the channel closed and the broker requeued the message", { error: errorMessage(error) });
    }
  }

  function requeue(delivery: UnackedDelivery): void {
    if (!delivery.isLive()) return;
    try {
      delivery.channel.nack(delivery.message, false, true);
    } catch (error) {
      logger().debug("nack skipped: the channel closed and the broker requeued the message", { error: errorMessage(error) });
    }
  }

  /**
   * Turns a delivery into a job ready to run, or settles it here: a message
   * that is not a job card is dead-lettered, and a job that arrived before its
   * time goes back to a wait queue. Returns the job at once (no promise) when
   * it is ready to run, and a promise of null when it was settled here.
   */
  function accept(delivery: UnackedDelivery, task: string): JobCard | Promise<null> {
    const parsed = decodeJobCard(delivery.message.content);
    if (!parsed.ok) {
      const letter = {
        reason: "invalid-job-card" as const,
        error: { name: "InvalidJobCard", code: "INVALID_JOB_CARD", message: `Message on queue "${delivery.names.work}" is not a valid job card: ${parsed.reason}` },
        attempts: 0,
        tenantId: delivery.message.properties.headers?.[HEADER.tenant] as string | undefined,
      };
      return deadLetter(delivery, task, delivery.message.content, letter).then(() => null);
    }

    const job = parsed.job;
    if (job.scheduledFor !== null && Date.parse(job.scheduledFor) > Date.now()) {
      return route(job, delivery.message.content).then(() => {
        ack(delivery);
        return null;
      });
    }
    job.attempts += 1;
    return job;
  }

  async function settleFailure(delivery: UnackedDelivery, job: JobCard, error: unknown, failOptions: FailOptions = {}): Promise<FailOutcome> {
    const decision = decideFailure(job, error, failOptions);
    const lastError = serializeError(error);
    const failed: JobCard = { ...job, lastError };

    if (decision.action === "dead") {
      await deadLetter(delivery, job.task, encode(failed), { reason: decision.reason, error: lastError, attempts: job.attempts, tenantId: job.tenantId, jobId: job.id });
      return { action: "dead", attempts: job.attempts, reason: decision.reason };
    }

    const delayMs = failOptions.delayMs ?? computeBackoffMs(job.attempts, backoff);
    const retryAt = new Date(Date.now() + delayMs).toISOString();
    await route({ ...failed, scheduledFor: retryAt });
    ack(delivery);
    logger().info("job failed; retry scheduled", { task: job.task, jobId: job.id, attempts: job.attempts, retryAt, tenantId: job.tenantId, error: lastError.message });
    return { action: "retry", attempts: job.attempts, retryAt };
  }

  async function openLeaseChannel(): Promise<{ channel: Channel; isLive: () => boolean }> {
    if (!leaseChannel) {
      const state = { channel: connection.createChannel("queue"), live: true };
      leaseChannel = state;
      state.channel
        .then((channel) => {
          channel.on("error", (error: Error) => logger().warn("RabbitMQ lease channel closed by an error; its leases are void", { error: error.message }));
          channel.on("close", () => {
            state.live = false;
            if (leaseChannel === state) leaseChannel = undefined;
          });
        })
        .catch(() => {
          state.live = false;
          if (leaseChannel === state) leaseChannel = undefined;
        });
    }
    const state = leaseChannel;
    return { channel: await state.channel, isLive: () => state.live };
  }

  function leaseOf(lease: Lease, action: string): LeaseEntry {
    const entry = leases.get(lease?.leaseId);
    if (!entry || !entry.isLive()) {
      throw rabbitError(
        `Cannot ${action} job ${lease?.job?.id ?? "(unknown)"} of task "${lease?.job?.task ?? "(unknown)"}": lease ${JSON.stringify(lease?.leaseId)} expired, was already settled, or its channel closed, and the job was returned to the queue. Keep handlers within leaseMs, or fetch with a longer leaseMs.`,
        "LEASE_EXPIRED",
        "queue",
        { tenantId: lease?.job?.tenantId, details: { leaseId: lease?.leaseId, jobId: lease?.job?.id } },
      );
    }
    return entry;
  }

  /** Returns an expired lease to the queue with the attempt counted, or dead-letters it when no attempts are left. */
  async function expireLease(leaseId: string): Promise<void> {
    const entry = leases.get(leaseId);
    if (!entry) return;
    leases.delete(leaseId);
    if (!entry.isLive()) return;
    logger().warn("lease expired; returning the job to the queue", { task: entry.job.task, jobId: entry.job.id, attempts: entry.job.attempts, tenantId: entry.job.tenantId });
    try {
      if (entry.job.attempts >= entry.job.maxAttempts) {
        const error = createHandlerTimeoutError(entry.job);
        await deadLetter(entry, entry.job.task, encode({ ...entry.job, lastError: serializeError(error) }), {
          reason: "handler-timeout",
          error: serializeError(error),
          attempts: entry.job.attempts,
          tenantId: entry.job.tenantId,
          jobId: entry.job.id,
        });
        return;
      }
      await route({ ...entry.job, scheduledFor: null });
      ack(entry);
    } catch (error) {
      // Without the copy the original must come back: requeue it as it was.
      requeue(entry);
      logger().error("could not return an expired lease to the queue; requeued the original delivery", { jobId: entry.job.id, error: errorMessage(error) });
    }
  }

  class QueueConsumer implements Consumer {
    private channel: Channel | undefined;
    private live = { value: false };
    private readonly buffer: Array<{ message: ConsumeMessage; delivery: UnackedDelivery }> = [];
    private running = 0;
    private stopped = false;
    private readonly idle = new Set<() => void>();
    private readonly runningJobs = new Set<RunningJob>();
    private sweepTimer: NodeJS.Timeout | undefined;
    private sweepMs = Number.POSITIVE_INFINITY;
    private readonly taskNames: TaskQueueNames;
    readonly hook: ConnectionHook;

    constructor(
      readonly task: string,
      private readonly handler: JobHandler,
      private readonly concurrency: number,
      private readonly prefetch: number,
    ) {
      this.taskNames = names(task);
      this.hook = {
        onConnect: (model) => this.subscribe(model),
        onDisconnect: () => this.detach(),
      };
    }

    get inFlight(): number {
      return this.running + this.buffer.length;
    }

    async subscribe(model?: ChannelModel): Promise<void> {
      if (this.stopped) return;
      const channel = model ? await model.createChannel() : await connection.createChannel("queue");
      const live = { value: true };
      channel.on("error", (error: Error) => logger().warn("RabbitMQ consumer channel closed by an error", { task: this.task, error: error.message }));
      channel.on("close", () => {
        live.value = false;
        // A channel error (not a lost connection) ends only this channel: open a new one while the connection lives.
        if (!this.stopped && this.channel === channel && connection.state === "connected") {
          this.channel = undefined;
          setTimeout(() => void this.subscribe().catch((error: unknown) => logger().error("could not resume a RabbitMQ consumer", { task: this.task, error: errorMessage(error) })), 100);
        }
      });
      await channel.prefetch(this.prefetch);
      if (this.stopped || (this.channel && this.live.value)) {
        // A reconnect hook subscribed while this call was opening its channel; keep one consumer only.
        live.value = false;
        await channel.close().catch(() => undefined);
        return;
      }
      this.channel = channel;
      this.live = live;
      const isLive = () => live.value;
      await channel.consume(this.taskNames.work, (message) => {
        if (message === null) return;
        const delivery: UnackedDelivery = { message, channel, isLive, names: this.taskNames };
        this.buffer.push({ message, delivery });
        this.pump();
      });
    }

    private detach(): void {
      this.live.value = false;
      this.channel = undefined;
      // Buffered deliveries belong to the lost channel; the broker delivers them again.
      this.buffer.length = 0;
    }

    private pump(): void {
      while (!this.stopped && this.running < this.concurrency && this.buffer.length > 0) {
        const next = this.buffer.shift();
        if (!next) break;
        this.running += 1;
        void this.run(next.delivery).finally(() => {
          this.running -= 1;
          if (this.running === 0) for (const notify of this.idle) notify();
          this.pump();
        });
      }
    }

    private async run(delivery: UnackedDelivery): Promise<void> {
      let job: JobCard | null;
      try {
        const accepted = accept(delivery, this.task);
        job = accepted instanceof Promise ? await accepted : accepted;
      } catch (error) {
        logger().error("could not settle a delivery; requeued it", { task: this.task, error: errorMessage(error) });
        requeue(delivery);
        return;
      }
      if (job === null) return;

      const current = job;
      const running: RunningJob = { job: current, controller: new AbortController(), deadline: Date.now() + current.timeoutMs, reject: undefined };
      this.watch(running);
      try {
        // Settles on the handler's result, or on the timeout when the sweep calls running.reject first.
        await new Promise<void>((resolve, reject) => {
          running.reject = reject;
          Promise.resolve(runInTenant(current.tenantId, () => this.handler(current, running.controller.signal))).then(resolve, reject);
        });
        this.runningJobs.delete(running);
        ack(delivery);
      } catch (error) {
        this.runningJobs.delete(running);
        try {
          await settleFailure(delivery, current, error);
        } catch (settleError) {
          logger().error("could not retry or dead-letter a failed job; requeued it", { task: this.task, jobId: current.id, error: errorMessage(settleError) });
          requeue(delivery);
        }
      }
    }

    /**
     * Tracks a running job for the timeout sweep. One interval per consumer
     * replaces a timer per job, which cost more than the rest of the consume path.
     * A handler times out between `timeoutMs` and `timeoutMs` plus the sweep
     * interval (a tenth of the shortest timeout seen, 10 ms to 1 s).
     */
    private watch(running: RunningJob): void {
      this.runningJobs.add(running);
      const sweepMs = Math.min(1_000, Math.max(10, Math.floor(running.job.timeoutMs / 10)));
      if (this.sweepTimer !== undefined && sweepMs >= this.sweepMs) return;
      clearInterval(this.sweepTimer);
      this.sweepMs = sweepMs;
      this.sweepTimer = setInterval(() => this.sweep(), sweepMs);
      this.sweepTimer.unref?.();
    }

    private sweep(): void {
      const now = Date.now();
      for (const running of this.runningJobs) {
        if (running.deadline > now) continue;
        this.runningJobs.delete(running);
        const error = createHandlerTimeoutError(running.job);
        running.controller.abort(error);
        running.reject?.(error);
      }
    }

    async stop(stopOptions: { drainMs?: number } = {}): Promise<void> {
      if (this.stopped) return;
      this.stopped = true;
      connection.removeHook(this.hook);
      consumers.delete(this);
      const channel = this.channel;
      const drainMs = stopOptions.drainMs ?? 10_000;

      // Buffered deliveries that never started go back to the queue at once.
      for (const { delivery } of this.buffer.splice(0)) requeue(delivery);
      if (this.running > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, drainMs);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          this.idle.add(done);
        });
      }
      clearInterval(this.sweepTimer);
      if (channel && this.live.value) {
        this.live.value = false;
        // Closing the channel cancels the consumer and requeues whatever is still unacked.
        await channel.close().catch(() => undefined);
      }
    }
  }

  const queue: RabbitMQQueue = {
    capabilities,
    names,

    async publish(task, payload, publishOptions) {
      const tenantId = currentTenantId();
      assertOpen(tenantId);
      const job = createJobCard(task, payload, publishOptions, tenantId);
      return publishCard(job, encode(job));
    },

    async publishBatch(items: PublishBatchItem[]) {
      if (!Array.isArray(items)) {
        throw new ValidationError(`publishBatch expects an array of { task, payload, options }, got ${JSON.stringify(items)}.`, { role: "queue" });
      }
      // Build and check every card before sending any, so a bad item rejects the whole batch.
      const tenantId = currentTenantId();
      assertOpen(tenantId);
      const prepared = items.map((item, index) => {
        try {
          const job = createJobCard(item.task, item.payload, item.options, tenantId);
          return { job, content: encode(job) };
        } catch (error) {
          if (error instanceof BridgeError) error.message = `publishBatch item ${index}: ${error.message}`;
          throw error;
        }
      });
      return Promise.all(prepared.map(({ job, content }) => publishCard(job, content)));
    },

    async fetchBatch<P>(task: string, fetchOptions: FetchOptions): Promise<Lease<P>[]> {
      const tenantId = currentTenantId();
      validateTaskName(task, tenantId);
      const max = fetchOptions?.max;
      if (typeof max !== "number" || !Number.isInteger(max) || max < 1) {
        throw new ValidationError(`Invalid fetchBatch max ${JSON.stringify(max)} for task "${task}": pass a whole number of 1 or more.`, { role: "queue", tenantId, details: { task, max } });
      }
      const leaseMs = fetchOptions.leaseMs ?? defaultLeaseMs;
      if (!Number.isInteger(leaseMs) || leaseMs < 1) {
        throw new ValidationError(`Invalid fetchBatch leaseMs ${JSON.stringify(leaseMs)} for task "${task}": pass a whole number of milliseconds of 1 or more.`, { role: "queue", tenantId });
      }
      const waitMs = fetchOptions.waitMs ?? 0;
      assertOpen(tenantId);
      await ensureTask(task);

      const taskNames = names(task);
      const deadline = Date.now() + waitMs;
      const result: Lease<P>[] = [];
      for (;;) {
        const { channel, isLive } = await openLeaseChannel();
        while (result.length < max) {
          const message: GetMessage | false = await channel.get(taskNames.work, { noAck: false });
          if (message === false) break;
          const delivery: UnackedDelivery = { message, channel, isLive, names: taskNames };
          const job = await accept(delivery, task);
          if (job === null) continue;

          const leaseId = `${instance}:${connection.generation}:${message.fields.deliveryTag}`;
          const leaseExpiresAt = Date.now() + leaseMs;
          const timer = setTimeout(() => void expireLease(leaseId), leaseMs);
          timer.unref?.();
          leases.set(leaseId, { ...delivery, job, timer });
          result.push({ job: job as JobCard<P>, leaseId, leaseExpiresAt });
        }
        const remaining = deadline - Date.now();
        if (result.length > 0 || remaining <= 0 || closed) return result;
        // basic.get does not wait, so poll until a job arrives or waitMs runs out.
        await new Promise((resolve) => setTimeout(resolve, Math.min(25, remaining)));
      }
    },

    async commit(lease: Lease) {
      const entry = leaseOf(lease, "commit");
      clearTimeout(entry.timer);
      leases.delete(lease.leaseId);
      ack(entry);
    },

    async fail(lease: Lease, error: unknown, failOptions?: FailOptions) {
      const checked = validateFailOptions(failOptions, lease?.job?.tenantId);
      const entry = leaseOf(lease, "fail");
      clearTimeout(entry.timer);
      leases.delete(lease.leaseId);
      return settleFailure(entry, entry.job, error, checked);
    },

    consume<P>(task: string, handler: JobHandler<P>, consumeOptions: ConsumeOptions = {}): Consumer {
      validateTaskName(task);
      assertOpen();
      if (typeof handler !== "function") {
        throw new ValidationError(`consume("${task}") needs a handler function, got ${typeof handler}.`, { role: "queue" });
      }
      const concurrency = consumeOptions.concurrency ?? 1;
      if (!Number.isInteger(concurrency) || concurrency < 1) {
        throw new ValidationError(`Invalid consume concurrency ${JSON.stringify(concurrency)} for task "${task}": pass a whole number of 1 or more.`, { role: "queue" });
      }
      const prefetch = Math.max(concurrency, options.prefetchCount);
      const consumer = new QueueConsumer(task, handler as JobHandler, concurrency, prefetch);
      consumers.add(consumer);
      connection.addHook(consumer.hook);
      void ensureTask(task)
        .then(() => consumer.subscribe())
        .then(() => logger().info("consumer started", { task, concurrency, prefetch }))
        .catch((error: unknown) => logger().error("could not start a RabbitMQ consumer; it resumes after the next reconnect", { task, error: errorMessage(error) }));
      return consumer;
    },

    async listDeadLetters(task: string, listOptions: { limit?: number } = {}) {
      validateTaskName(task);
      assertOpen();
      const limit = listOptions.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1) {
        throw new ValidationError(`Invalid listDeadLetters limit ${JSON.stringify(limit)} for task "${task}": pass a whole number of 1 or more.`, { role: "queue" });
      }
      await ensureTask(task);
      return readDeadLetters(task, limit, () => "keep");
    },

    async replayDeadLetters(task: string, replayOptions: { ids?: string[] } = {}) {
      validateTaskName(task);
      assertOpen();
      await ensureTask(task);
      const requested = replayOptions.ids ? new Set(replayOptions.ids) : undefined;
      let moved = 0;
      await readDeadLetters(task, Number.MAX_SAFE_INTEGER, (letter) => {
        if (letter.job === null || (requested && !requested.has(letter.id))) return "keep";
        return "replay";
      }, async (letter) => {
        const job = letter.job as JobCard;
        await route({ ...job, attempts: 0, scheduledFor: null });
        moved += 1;
      });
      if (moved > 0) logger().info("dead letters replayed", { task, count: moved });
      return moved;
    },

    async purgeDeadLetters(task: string) {
      validateTaskName(task);
      assertOpen();
      await ensureTask(task);
      const { messageCount } = await connection.withAdminChannel("queue", (channel) => channel.purgeQueue(names(task).deadLetter));
      logger().info("dead letters purged", { task, count: messageCount });
      return messageCount;
    },

    async stats(task: string): Promise<QueueStats> {
      validateTaskName(task);
      assertOpen();
      await ensureTask(task);
      const taskNames = names(task);
      return connection.withAdminChannel("queue", async (channel) => {
        const work = await channel.checkQueue(taskNames.work);
        const dead = await channel.checkQueue(taskNames.deadLetter);
        let delayed = 0;
        for (const waitQueue of taskNames.wait.values()) delayed += (await channel.checkQueue(waitQueue)).messageCount;
        let inFlight = 0;
        for (const entry of leases.values()) if (entry.job.task === task) inFlight += 1;
        for (const consumer of consumers) if (consumer.task === task) inFlight += consumer.inFlight;
        // NOTE: inFlight counts only deliveries this process holds unacked; AMQP reports no unacked count to clients.
        return { task, depth: work.messageCount + delayed, inFlight, delayed, dead: dead.messageCount, consumers: work.consumerCount };
      });
    },

    async close(closeOptions: { drainMs?: number } = {}) {
      if (closed) return;
      closed = true;
      await Promise.all([...consumers].map((consumer) => consumer.stop({ drainMs: closeOptions.drainMs })));
      for (const [id, entry] of leases) {
        clearTimeout(entry.timer);
        requeue(entry);
        leases.delete(id);
      }
      connection.removeHook(hook);
      const state = leaseChannel;
      leaseChannel = undefined;
      if (state) {
        state.live = false;
        await state.channel.then((channel) => channel.close()).catch(() => undefined);
      }
    },
  };

  /**
   * Reads the dead-letter queue on a channel of its own: each message is taken
   * unacked, and `decide` chooses whether to keep it (requeued when the channel
   * closes) or replay it (acked once `replay` confirmed its copy).
   */
  async function readDeadLetters(
    task: string,
    limit: number,
    decide: (letter: DeadLetter) => "keep" | "replay",
    replay?: (letter: DeadLetter) => Promise<void>,
  ): Promise<DeadLetter[]> {
    const taskNames = names(task);
    const channel = await connection.createChannel("queue");
    const letters: DeadLetter[] = [];
    try {
      while (letters.length < limit) {
        const message = await channel.get(taskNames.deadLetter, { noAck: false });
        if (message === false) break;
        const letter = readDeadLetter(task, message);
        if (decide(letter) === "replay" && replay) {
          await replay(letter);
          channel.ack(message);
        } else {
          letters.push(letter);
        }
      }
    } finally {
      await channel.close().catch(() => undefined);
    }
    return letters;
  }

  return queue;
}

/** Rebuilds a DeadLetter from a message of the dead-letter queue, whether Bridge or the broker put it there. */
function readDeadLetter(task: string, message: Message): DeadLetter {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  const parsed = decodeJobCard(message.content);
  const job = parsed.ok ? parsed.job : null;
  const deathReason = brokerDeathReason(headers);
  const reason = (headers[HEADER.reason] as DeadLetterReason | undefined) ?? (parsed.ok ? deathReason : "invalid-job-card");
  let error: SerializedError | undefined;
  const rawError = headers[HEADER.error];
  if (typeof rawError === "string") {
    try {
      error = JSON.parse(rawError) as SerializedError;
    } catch {
      error = { name: "Error", message: rawError };
    }
  } else if (!parsed.ok) {
    error = { name: "InvalidJobCard", code: "INVALID_JOB_CARD", message: `Not a valid job card: ${parsed.reason}` };
  }
  const attempts = Number(headers[HEADER.attempts] ?? job?.attempts ?? 0);
  const deadAtHeader = headers[HEADER.deadAt];
  const deadAt = typeof deadAtHeader === "string" ? deadAtHeader : new Date((message.properties.timestamp ?? Date.now() / 1000) * 1000).toISOString();
  return {
    id: job?.id ?? (message.properties.messageId as string | undefined) ?? `dlq-${message.fields.deliveryTag}`,
    task,
    reason,
    job,
    ...(job === null ? { raw: message.content.toString("utf8") } : {}),
    ...(error ? { error } : {}),
    attempts,
    deadAt,
  };
}

/** Maps the broker's own `x-death` reason (from a policy or a quorum delivery limit) onto a Bridge reason. */
function brokerDeathReason(headers: Record<string, unknown>): DeadLetterReason {
  const deaths = headers["x-death"] as Array<{ reason?: string }> | undefined;
  return deaths?.[0]?.reason === "delivery_limit" ? "max-attempts" : "non-retryable";
}
