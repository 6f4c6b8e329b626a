// A `consume` loop: takes jobs from the task's buffered consumer as they
// arrive, runs up to `concurrency` handlers at once in each job's tenant,
// and commits, retries or dead-letters each one.
import {
  createHandlerTimeoutError,
  runWithTenant,
  SpanKind,
  withSpan,
  type Consumer,
  type FailOutcome,
  type JobCard,
  type JobHandler,
  type Logger,
} from "@bridge/core";
import { errorMessage } from "./sender.js";
import type { Entry, HeldJob, TaskConsumer } from "./task-consumer.js";

/** A job whose handler runs, with what the timeout sweep needs. */
interface RunningJob {
  job: JobCard;
  controller: AbortController;
  /** Epoch ms after which the sweep aborts the handler. */
  deadline: number;
  reject: ((error: unknown) => void) | undefined;
}

export class QueueConsumer implements Consumer {
  private readonly running = new Set<RunningJob>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepMs = Number.POSITIVE_INFINITY;
  private stopped = false;
  private detach: (() => void) | undefined;
  private readonly idle = new Set<() => void>();

  constructor(
    private source: TaskConsumer,
    private readonly handler: JobHandler,
    private readonly concurrency: number,
    private readonly logger: () => Logger,
    private readonly settleFailure: (entry: Entry, job: JobCard, error: unknown) => Promise<FailOutcome>,
    private readonly onStop: () => void,
  ) {
    this.attach(source);
  }

  /** Jobs this loop is running now. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Takes jobs from `source` from now on (after a replay replaced the task's consumer). */
  attach(source: TaskConsumer): void {
    this.detach?.();
    this.source = source;
    this.detach = source.onWork(() => this.pump());
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency) {
      const batch = this.source.take(this.concurrency - this.running.size, undefined);
      if (batch.length === 0) return;
      const source = this.source;
      // run() registers each job synchronously, so `running` counts them before the next take.
      for (const held of batch) void this.run(source, held).finally(() => this.finished());
    }
  }

  private finished(): void {
    if (this.running.size === 0) for (const notify of [...this.idle]) notify();
    this.pump();
  }

  private async run(source: TaskConsumer, held: HeldJob): Promise<void> {
    const { job } = held;
    const running: RunningJob = { job, controller: new AbortController(), deadline: Date.now() + job.timeoutMs, reject: undefined };
    const timedOut = new Promise<never>((_, reject) => {
      running.reject = reject;
    });
    this.running.add(running);
    this.watch(running);

    try {
      await Promise.race([
        runWithTenant(job.tenantId, () =>
          withSpan(
            `${job.task} process`,
            { "messaging.system": "kafka", "messaging.destination.name": source.topics.main, "messaging.message.id": job.id },
            () => this.handler(job, running.controller.signal),
            { parent: job.traceparent, kind: SpanKind.CONSUMER },
          ),
        ),
        timedOut,
      ]);
      source.complete(held.leaseId);
    } catch (error) {
      const entry = source.claim(held.leaseId);
      if (entry === undefined) return;
      try {
        await this.settleFailure(entry, job, error);
      } catch (settleError) {
        this.logger().error("could not retry or dead-letter a failed job; it goes back to the queue", {
          task: job.task,
          jobId: job.id,
          tenantId: job.tenantId,
          error: errorMessage(settleError),
        });
      }
    } finally {
      this.running.delete(running);
      if (this.running.size === 0) {
        clearInterval(this.sweepTimer);
        this.sweepTimer = undefined;
        this.sweepMs = Number.POSITIVE_INFINITY;
      }
    }
  }

  /**
   * Makes the timeout sweep run often enough for this job. One interval per
   * consumer replaces a timer per job. A handler times out between `timeoutMs`
   * and `timeoutMs` plus a tenth of it, at least 10 ms and at most 1 s more.
   */
  private watch(running: RunningJob): void {
    const sweepMs = Math.min(1_000, Math.max(10, Math.floor(running.job.timeoutMs / 10)));
    if (this.sweepTimer !== undefined && sweepMs >= this.sweepMs) return;
    clearInterval(this.sweepTimer);
    this.sweepMs = sweepMs;
    this.sweepTimer = setInterval(() => this.sweep(), sweepMs);
    this.sweepTimer.unref?.();
  }

  private sweep(): void {
    const now = Date.now();
    for (const running of this.running) {
      if (running.deadline > now || running.controller.signal.aborted) continue;
      const error = createHandlerTimeoutError(running.job);
      running.controller.abort(error);
      running.reject?.(error);
    }
  }

  async stop(options: { drainMs?: number } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.detach?.();
    this.onStop();
    const drainMs = options.drainMs ?? 10_000;
    if (this.running.size > 0) {
      await new Promise<void>((resolve) => {
        const idle = this.idle;
        const timer = setTimeout(done, drainMs);
        function done(): void {
          clearTimeout(timer);
          idle.delete(done);
          resolve();
        }
        idle.add(done);
      });
    }
    // Handlers still running past the drain deadline get an aborted signal, and their jobs are delivered again later.
    for (const running of this.running) running.controller.abort(new Error("consumer stopped before the job finished"));
  }
}
