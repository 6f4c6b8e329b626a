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

export class QueueConsumer implements Consumer {
  private running = 0;
  private stopped = false;
  private detach: (() => void) | undefined;
  private readonly idle = new Set<() => void>();
  private readonly controllers = new Set<AbortController>();

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
    return this.running;
  }

  /** Takes jobs from `source` from now on (after a replay replaced the task's consumer). */
  attach(source: TaskConsumer): void {
    this.detach?.();
    this.source = source;
    this.detach = source.onWork(() => this.pump());
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency) {
      const batch = this.source.take(this.concurrency - this.running, undefined);
      if (batch.length === 0) return;
      const source = this.source;
      for (const held of batch) {
        this.running += 1;
        void this.run(source, held).finally(() => this.finished());
      }
    }
  }

  private finished(): void {
    this.running -= 1;
    if (this.running === 0) for (const notify of [...this.idle]) notify();
    this.pump();
  }

  private async run(source: TaskConsumer, held: HeldJob): Promise<void> {
    const { job } = held;
    const controller = new AbortController();
    this.controllers.add(controller);
    let timer: NodeJS.Timeout | undefined;
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
            { "messaging.system": "kafka", "messaging.destination.name": source.topics.main, "messaging.message.id": job.id },
            () => this.handler(job, controller.signal),
            { parent: job.traceparent, kind: SpanKind.CONSUMER },
          ),
        ),
        timedOut,
      ]);
      clearTimeout(timer);
      source.complete(held.leaseId);
    } catch (error) {
      clearTimeout(timer);
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
      this.controllers.delete(controller);
    }
  }

  async stop(options: { drainMs?: number } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.detach?.();
    this.onStop();
    const drainMs = options.drainMs ?? 10_000;
    if (this.running > 0) {
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
    // Handlers still running past the drain deadline are told to stop; their jobs are delivered again later.
    for (const controller of this.controllers) controller.abort(new Error("consumer stopped before the job finished"));
  }
}
