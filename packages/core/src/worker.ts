/**
 * Worker runtime: fetches batches of one task from any queue provider, runs
 * each job in its tenant with a timeout, commits or fails it, registers the
 * worker and reports vitals, and drains in-flight jobs on stop.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { BridgeError, isBridgeError, ValidationError } from "./errors.js";
import { computeBackoffMs, createHandlerTimeoutError, isRetryableJobError, validateTaskName } from "./jobcard.js";
import type { WorkerRegistryModule, WorkerStatus } from "./roles/data/workers.js";
import type { Logger } from "./roles/logs.js";
import { DEFAULT_LEASE_MS, type JobCard, type Lease, type QueueRole } from "./roles/queue.js";
import { currentContext, runWithTenant } from "./tenant.js";
import { SpanKind, withSpan } from "./telemetry.js";

export interface WorkerJobContext {
  /** Aborted when the job runs past `job.timeoutMs` or the worker stops past its drain deadline. */
  signal: AbortSignal;
  /** Logs with the worker id, job id, task and tenant bound. */
  logger: Logger;
  /** 1 on the first delivery. */
  attempt: number;
}

export type WorkerHandler<P = unknown> = (job: JobCard<P>, context: WorkerJobContext) => Promise<void>;

export interface WorkerDefinition<P = unknown> {
  task: string;
  /** Maximum jobs per fetch. The worker never holds more leases than `concurrency`, so jobs do not wait locally while their leases run out. Default 10. */
  batchSize?: number;
  /** Jobs handled at the same time. Default 1. */
  concurrency?: number;
  /** Lease per fetched job in ms. Keep it above the handler's run time. Default 30 000. */
  leaseMs?: number;
  /** Maximum wait of one fetch for new jobs in ms, and the pause after an empty fetch that returned early. Default 1000. */
  pollIntervalMs?: number;
  /** Interval of registry heartbeats in ms. Default 15 000. */
  heartbeatMs?: number;
  handler: WorkerHandler<P>;
}

export interface WorkerDeps {
  queue: QueueRole;
  logger: Logger;
  /** When given, the worker registers itself and sends heartbeats with vitals. */
  registry?: WorkerRegistryModule;
  /** Default: the task name. */
  workerType?: string;
  /** Default: "default". */
  communityId?: string;
}

export interface WorkerCounters {
  /** Jobs handled and committed. */
  processed: number;
  /** Attempts that threw or timed out, whether retried or dead-lettered. */
  failed: number;
  deadLettered: number;
  inFlight: number;
}

export type WorkerState = "idle" | WorkerStatus;

export interface Worker {
  readonly id: string;
  readonly task: string;
  readonly state: WorkerState;
  /** A snapshot of the counters. */
  readonly counters: WorkerCounters;
  /** Registers the worker when a registry is given, then starts fetching. */
  start(): Promise<void>;
  /** Stops fetching and waits up to `drainMs` (default 30 000) for in-flight jobs. Jobs still running then are aborted, and their leases are left to expire. */
  stop(options?: { drainMs?: number }): Promise<void>;
}

/** Returns `definition` unchanged. It exists so that TypeScript infers the payload type for the handler. */
export function defineWorker<P = unknown>(definition: WorkerDefinition<P>): WorkerDefinition<P> {
  return definition;
}

interface ActiveJob {
  job: JobCard;
  controller: AbortController;
  done: Promise<void>;
}

// Maximum pause between fetches after repeated fetch errors.
const MAX_FETCH_RETRY_MS = 30_000;

/** Creates a worker for `definition.task`. Call `start()` to begin. */
export function createWorker<P = unknown>(deps: WorkerDeps, definition: WorkerDefinition<P>): Worker {
  validateDefinition(definition);

  const task = definition.task;
  const batchSize = definition.batchSize ?? 10;
  const concurrency = definition.concurrency ?? 1;
  const leaseMs = definition.leaseMs ?? DEFAULT_LEASE_MS;
  const pollIntervalMs = definition.pollIntervalMs ?? 1000;
  const heartbeatMs = definition.heartbeatMs ?? 15_000;
  const { queue, registry } = deps;
  const id = randomUUID();
  const logger = deps.logger.child({ workerId: id, source: "worker", task });

  const counters = { processed: 0, failed: 0, deadLettered: 0 };
  const active = new Set<ActiveJob>();
  let state: WorkerState = "idle";
  let loopDone: Promise<void> = Promise.resolve();
  let startPromise: Promise<void> | undefined;
  let stopPromise: Promise<void> | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  // Set when stop gave up waiting. Leases fetched after that are left to expire.
  let abandoned = false;
  let warnedAboutLease = false;
  // Wakes the loop from a pause or a full slot wait.
  let wake: (() => void) | undefined;

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        if (wake === done) {
          wake = undefined;
        }
        resolve();
      }
      wake = done;
    });
  }

  function wakeLoop(): void {
    wake?.();
  }

  async function loop(): Promise<void> {
    let fetchErrors = 0;

    while (state === "running") {
      if (active.size >= concurrency) {
        // A finishing job wakes the pause early.
        await pause(pollIntervalMs);
        continue;
      }

      const startedAt = Date.now();
      let leases: Lease<P>[];
      try {
        leases = await queue.fetchBatch<P>(task, { max: Math.min(batchSize, concurrency - active.size), leaseMs, waitMs: pollIntervalMs });
        fetchErrors = 0;
      } catch (error) {
        if (isBridgeError(error, "CLOSED")) {
          logger.warn(`Queue for task "${task}" is closed; worker stops fetching`, { err: error });
          return;
        }
        fetchErrors += 1;
        const delayMs = computeBackoffMs(fetchErrors, { baseMs: pollIntervalMs, maxMs: Math.max(pollIntervalMs, MAX_FETCH_RETRY_MS) });
        logger.error(`Fetching jobs of task "${task}" failed (${fetchErrors} in a row); retrying in ${delayMs} ms`, { err: error });
        await pause(delayMs);
        continue;
      }

      if (abandoned) {
        return;
      }
      for (const lease of leases) {
        startJob(lease);
      }
      if (leases.length === 0 && state === "running") {
        await pause(Math.max(0, pollIntervalMs - (Date.now() - startedAt)));
      }
    }
  }

  function startJob(lease: Lease<P>): void {
    const controller = new AbortController();
    const entry: ActiveJob = { job: lease.job as JobCard, controller, done: Promise.resolve() };
    active.add(entry);
    entry.done = runJob(lease, controller)
      .catch((error) => logger.error(`Worker failed to settle job ${lease.job.id}`, { err: error, jobId: lease.job.id }))
      .finally(() => {
        active.delete(entry);
        wakeLoop();
      });
  }

  async function runJob(lease: Lease<P>, controller: AbortController): Promise<void> {
    const job = lease.job;
    const jobFields = { jobId: job.id, tenantId: job.tenantId, attempt: job.attempts };
    const jobLogger = logger.child(jobFields);

    if (job.timeoutMs > leaseMs && !warnedAboutLease) {
      warnedAboutLease = true;
      logger.warn(
        `Job ${job.id} may run ${job.timeoutMs} ms but its lease lasts ${leaseMs} ms, so another consumer can receive it while it still runs; raise leaseMs or lower timeoutMs`,
        jobFields,
      );
    }

    await runWithTenant({ tenantId: job.tenantId, correlationId: job.id }, async () => {
      let failure: { error: unknown } | undefined;
      try {
        await withSpan(
          `${task} process`,
          {
            "messaging.system": "bridge",
            "messaging.destination.name": task,
            "messaging.message.id": job.id,
            "bridge.tenant": job.tenantId,
            "bridge.attempt": job.attempts,
          },
          () => runHandler(job, controller, jobLogger),
          { parent: job.traceparent, kind: SpanKind.CONSUMER },
        );
      } catch (error) {
        failure = { error };
      }

      if (abandoned) {
        // stop() has returned, so the lease is left to expire and the queue delivers the job again.
        return;
      }
      if (failure === undefined) {
        await commit(lease, jobLogger);
      } else {
        await fail(lease, failure.error, jobLogger);
      }
    });
  }

  function runHandler(job: JobCard<P>, controller: AbortController, jobLogger: Logger): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = createHandlerTimeoutError(job as JobCard);
        controller.abort(error);
        reject(error);
      }, job.timeoutMs);

      // NOTE: a handler that ignores its AbortSignal keeps running after the timeout, and only its result is ignored.
      Promise.resolve()
        .then(() => definition.handler(job, { signal: controller.signal, logger: jobLogger, attempt: job.attempts }))
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    });
  }

  async function commit(lease: Lease<P>, jobLogger: Logger): Promise<void> {
    try {
      await queue.commit(lease);
      counters.processed += 1;
      jobLogger.debug(`Job ${lease.job.id} done`);
    } catch (error) {
      if (isBridgeError(error, "LEASE_EXPIRED")) {
        jobLogger.warn(
          `Job ${lease.job.id} finished after its lease expired, so the queue delivers it again; raise leaseMs above the handler's run time`,
          {
            err: error,
          },
        );
        return;
      }
      jobLogger.error(`Committing job ${lease.job.id} failed; the queue delivers it again when the lease expires`, { err: error });
    }
  }

  async function fail(lease: Lease<P>, error: unknown, jobLogger: Logger): Promise<void> {
    const job = lease.job;
    counters.failed += 1;
    try {
      const outcome = await queue.fail(lease, error, { retryable: isRetryableJobError(error) });
      if (outcome.action === "retry") {
        jobLogger.warn(`Job ${job.id} failed on attempt ${outcome.attempts} of ${job.maxAttempts}; retrying at ${outcome.retryAt}`, {
          err: error,
          retryAt: outcome.retryAt,
        });
      } else {
        counters.deadLettered += 1;
        jobLogger.error(`Job ${job.id} failed on attempt ${outcome.attempts} and went to the dead-letter queue (${outcome.reason})`, {
          err: error,
          reason: outcome.reason,
        });
      }
    } catch (failError) {
      const hint = isBridgeError(failError, "LEASE_EXPIRED")
        ? "its lease expired, so the queue delivers it again"
        : "the queue delivers it again when the lease expires";
      jobLogger.error(`Job ${job.id} failed and recording the failure failed too; ${hint}`, { err: error, failError });
    }
  }

  async function sendHeartbeat(): Promise<void> {
    if (registry === undefined) {
      return;
    }
    try {
      const memory = process.memoryUsage();
      await registry.heartbeat(id, {
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        inFlight: active.size,
        processed: counters.processed,
        failed: counters.failed,
      });
    } catch (error) {
      logger.warn(`Heartbeat of worker ${id} failed; the registry may mark it stale`, { err: error });
    }
  }

  async function setRegistryStatus(status: WorkerStatus): Promise<void> {
    if (registry === undefined) {
      return;
    }
    try {
      await registry.setStatus(id, status);
    } catch (error) {
      logger.warn(`Setting the registry status of worker ${id} to ${status} failed`, { err: error });
    }
  }

  async function doStart(): Promise<void> {
    state = "starting";
    if (registry !== undefined) {
      try {
        await registry.register({
          id,
          workerType: deps.workerType ?? task,
          communityId: deps.communityId ?? "default",
          hostname: hostname(),
          pid: process.pid,
          tasks: [task],
          attributes: { batchSize, concurrency, leaseMs },
        });
      } catch (error) {
        state = "stopped";
        logger.error(`Registering worker ${id} for task "${task}" failed; the worker does not start`, { err: error });
        throw error;
      }
      await setRegistryStatus("running");

      // Heartbeats keep the tenant context of start(), where the registry record lives.
      const startContext = currentContext();
      heartbeat = setInterval(() => void runWithTenant(startContext, sendHeartbeat), heartbeatMs);
      heartbeat.unref();
    }

    state = "running";
    logger.info(`Worker ${id} started for task "${task}"`, { batchSize, concurrency, leaseMs, pollIntervalMs });
    loopDone = loop().catch((error) => {
      logger.fatal(`Fetch loop of worker ${id} stopped on an unexpected error`, { err: error });
    });
  }

  async function doStop(drainMs: number): Promise<void> {
    if (state === "idle" || state === "stopped") {
      state = "stopped";
      return;
    }
    await startPromise?.catch(() => undefined);
    state = "draining";
    wakeLoop();
    logger.info(`Worker ${id} stopping; waiting up to ${drainMs} ms for ${active.size} in-flight jobs`, { inFlight: active.size, drainMs });
    await setRegistryStatus("draining");

    const drained = await waitWithDeadline(async () => {
      await loopDone;
      while (active.size > 0) {
        await Promise.all([...active].map((entry) => entry.done));
      }
    }, drainMs);

    if (!drained) {
      abandoned = true;
      const jobIds = [...active].map((entry) => entry.job.id);
      for (const entry of active) {
        entry.controller.abort(
          new BridgeError(`Worker ${id} stopped before job ${entry.job.id} finished`, {
            code: "CLOSED",
            role: "queue",
            tenantId: entry.job.tenantId,
          }),
        );
      }
      logger.warn(
        `Worker ${id} stopped with ${jobIds.length} jobs still running after ${drainMs} ms; their leases expire and the queue delivers them again`,
        {
          jobIds,
        },
      );
    }

    if (heartbeat !== undefined) {
      clearInterval(heartbeat);
    }
    await setRegistryStatus("stopped");
    state = "stopped";
    logger.info(`Worker ${id} stopped`, { processed: counters.processed, failed: counters.failed, deadLettered: counters.deadLettered });
  }

  return {
    id,
    task,
    get state(): WorkerState {
      return state;
    },
    get counters(): WorkerCounters {
      return { ...counters, inFlight: active.size };
    },
    start(): Promise<void> {
      if (stopPromise !== undefined) {
        return Promise.reject(
          new BridgeError(`Worker ${id} for task "${task}" was stopped and cannot start again: create a new worker.`, {
            code: "CLOSED",
            role: "queue",
          }),
        );
      }
      startPromise ??= doStart();
      return startPromise;
    },
    stop(options: { drainMs?: number } = {}): Promise<void> {
      const drainMs = options.drainMs ?? 30_000;
      if (!Number.isFinite(drainMs) || drainMs < 0) {
        return Promise.reject(
          new ValidationError(`Invalid drainMs ${String(drainMs)}: pass a number of 0 or more milliseconds.`, { role: "queue" }),
        );
      }
      stopPromise ??= doStop(drainMs);
      return stopPromise;
    },
  };
}

/** Resolves true when `work` finishes within `ms`, false otherwise. */
async function waitWithDeadline(work: () => Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work().then(() => true), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function validateDefinition(definition: WorkerDefinition<never>): void {
  if (definition === null || typeof definition !== "object") {
    throw new ValidationError(`Invalid worker definition ${JSON.stringify(definition)}: pass an object with task and handler.`, {
      role: "queue",
    });
  }
  validateTaskName(definition.task);

  const problems: string[] = [];
  if (typeof definition.handler !== "function") {
    problems.push("handler must be a function");
  }
  const positiveInteger = (label: string, value: number | undefined): void => {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      problems.push(`${label} must be an integer of 1 or more (got ${String(value)})`);
    }
  };
  positiveInteger("batchSize", definition.batchSize);
  positiveInteger("concurrency", definition.concurrency);
  positiveInteger("leaseMs", definition.leaseMs);
  positiveInteger("pollIntervalMs", definition.pollIntervalMs);
  positiveInteger("heartbeatMs", definition.heartbeatMs);

  if (problems.length > 0) {
    throw new ValidationError(`Invalid worker definition for task "${definition.task}": ${problems.join("; ")}.`, {
      role: "queue",
      details: { task: definition.task, problems },
    });
  }
}
