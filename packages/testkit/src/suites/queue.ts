import {
  currentTenantId,
  runWithTenant,
  type Consumer,
  type JobCard,
  type Lease,
  type QueueCapabilities,
  type QueueRole,
} from "@bridge/core";
import { afterEach, expect, it } from "vitest";
import { describeConformance, eventually, expectBridgeError, InstanceTracker, newNamespace, resolveTimeouts, sleep, type CaseTimeoutOptions } from "../harness.js";

/** Timings the kit passes to `create` so that retries and lease expiry happen within a test. */
export interface QueueFactoryOptions {
  /** Lease of a fetched job when the fetch names none, in ms. */
  leaseMs: number;
  /** Delay before the first retry, in ms. Each later retry must wait longer. */
  backoffBaseMs: number;
}

export interface QueueInstance {
  queue: QueueRole;
  /**
   * Puts bytes on the task's queue the way a foreign producer would,
   * bypassing `publish`. Without it the invalid-job-card case is skipped.
   */
  injectRaw?: (task: string, raw: string) => Promise<void>;
  /** Deletes what the instance created (queues, topics, consumer groups). */
  cleanup?: () => Promise<void>;
}

export interface QueueSuiteOptions extends CaseTimeoutOptions {
  /** One word that names the provider in test titles and in the conformance report. */
  provider: string;
  capabilities: QueueCapabilities;
  /** Creates an instance whose queue and task names are isolated by `namespace`. */
  create: (namespace: string, options: QueueFactoryOptions) => Promise<QueueInstance>;
  /** Default lease in ms; 300 when absent. */
  leaseMs?: number;
  /** First retry delay in ms; 50 when absent. */
  backoffBaseMs?: number;
  /** Maximum wait for asynchronous delivery in each check, in ms; 5000 when absent. */
  timeoutMs?: number;
}

interface Running extends QueueInstance {
  namespace: string;
  task: string;
  closed: boolean;
  consumers: Consumer[];
}

/**
 * Registers the queue conformance cases. Call it at the top level of a
 * vitest test file; every case creates its own instance through `create`.
 */
export function runQueueSuite(options: QueueSuiteOptions): void {
  const declared = options.capabilities;
  const leaseMs = options.leaseMs ?? 300;
  const backoffBaseMs = options.backoffBaseMs ?? 50;
  const { timeoutMs, caseTimeoutMs } = resolveTimeouts(options);
  const tracker = new InstanceTracker<Running>();

  async function start(overrides: Partial<QueueFactoryOptions> = {}): Promise<Running> {
    const namespace = newNamespace();
    const instance = await options.create(namespace, { leaseMs, backoffBaseMs, ...overrides });
    return tracker.track({ ...instance, namespace, task: `${namespace}.job`, closed: false, consumers: [] });
  }

  async function fetchJobs<P = unknown>(queue: QueueRole, task: string, count: number, fetchLeaseMs?: number): Promise<Lease<P>[]> {
    const leases: Lease<P>[] = [];
    await eventually(
      async () => {
        const batch = await queue.fetchBatch<P>(task, { max: count - leases.length, waitMs: 50, leaseMs: fetchLeaseMs });
        leases.push(...batch);
        expect(leases.length, `jobs delivered from ${task}, of ${count} expected`).toBeGreaterThanOrEqual(count);
      },
      { timeoutMs },
    );
    return leases;
  }

  /** Fails with the count and ids of published jobs that were not among the delivered ids. */
  function expectAllDelivered(cards: JobCard[], deliveredIds: ReadonlySet<string>): void {
    const missing = cards.filter((card) => !deliveredIds.has(card.id)).map((card) => card.id);
    const listedIds = missing.length > 20 ? `${missing.slice(0, 20).join(", ")} and ${missing.length - 20} more` : missing.join(", ");
    expect(missing.length, `${missing.length} of ${cards.length} published jobs were never delivered; missing job ids: ${listedIds}`).toBe(0);
  }

  async function expectNothingToFetch(queue: QueueRole, task: string): Promise<void> {
    const batch = await queue.fetchBatch(task, { max: 10, waitMs: 100 });
    expect(batch.map((lease) => lease.job.id), "jobs that must not be delivered").toEqual([]);
  }

  async function deadLetter(queue: QueueRole, task: string, payload: unknown): Promise<JobCard> {
    const job = await queue.publish(task, payload);
    const [lease] = await fetchJobs(queue, task, 1);
    const outcome = await queue.fail(lease!, new Error(`rejected ${JSON.stringify(payload)}`), { retryable: false });
    expect(outcome.action).toBe("dead");
    return job;
  }

  // NOTE: replayFromOffset and persistent are recorded only: QueueRole has no replay-from-offset call, and no case restarts the broker.
  describeConformance({ role: "queue", provider: options.provider, capabilities: declared }, () => {
    afterEach(async () => {
      for (const running of tracker.drain()) {
        await Promise.all(running.consumers.map((consumer) => consumer.stop({ drainMs: 1_000 })));
        if (!running.closed) await running.queue.close({ drainMs: 1_000 });
        await running.cleanup?.();
      }
    });

    it("declares its capabilities", async () => {
      const { queue } = await start();
      expect(queue.capabilities, "queue.capabilities must equal what the provider declares to the kit").toEqual(declared);
    });

    it("publish and fetch round trip", async () => {
      const { queue, task, namespace } = await start();
      const tenant = `${namespace}-a`;
      const payload = { engagementId: "eng-1", lines: [{ sku: "4984700", quantity: 2 }], note: "gift wrap, ünïcode" };

      const card = await runWithTenant(tenant, () => queue.publish(task, payload));
      expect(card.id).toMatch(/\S/);
      expect(card.task).toBe(task);
      expect(card.payload).toEqual(payload);
      expect(card.tenantId).toBe(tenant);
      expect(card.priority).toBe(5);
      expect(card.attempts).toBe(0);
      expect(card.maxAttempts).toBe(3);
      expect(Number.isNaN(Date.parse(card.createdAt))).toBe(false);
      expect(card.scheduledFor).toBeNull();

      const [lease] = await fetchJobs(queue, task, 1);
      expect(lease!.job.id).toBe(card.id);
      expect(lease!.job.payload).toEqual(payload);
      expect(lease!.job.tenantId).toBe(tenant);
      expect(lease!.job.attempts).toBe(1);
      expect(typeof lease!.leaseId).toBe("string");
      expect(lease!.leaseExpiresAt).toBeGreaterThan(Date.parse(card.createdAt));
      await queue.commit(lease!);
    });

    it("tenant option overrides the context", async () => {
      const { queue, task, namespace } = await start();

      const card = await runWithTenant(`${namespace}-a`, () => queue.publish(task, { n: 1 }, { tenantId: `${namespace}-b` }));
      expect(card.tenantId).toBe(`${namespace}-b`);

      const [lease] = await fetchJobs(queue, task, 1);
      expect(lease!.job.tenantId).toBe(`${namespace}-b`);
    });

    it("publishBatch returns cards in order", async () => {
      const { queue, task } = await start();
      const cards = await queue.publishBatch([1, 2, 3].map((n) => ({ task, payload: { n } })));
      expect(cards.map((card) => card.payload)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);

      const leases = await fetchJobs(queue, task, 3);
      expect(new Set(leases.map((lease) => lease.job.id))).toEqual(new Set(cards.map((card) => card.id)));
    });

    it("batch fetch honours the maximum", async () => {
      const { queue, task } = await start();
      const cards = await queue.publishBatch([1, 2, 3, 4, 5].map((n) => ({ task, payload: { n } })));

      const seen = new Set<string>();
      await eventually(
        async () => {
          const batch = await queue.fetchBatch(task, { max: 2, waitMs: 50 });
          expect(batch.length, "fetchBatch({ max: 2 }) returned more than 2 jobs").toBeLessThanOrEqual(2);
          for (const lease of batch) seen.add(lease.job.id);
          expectAllDelivered(cards, seen);
        },
        { timeoutMs },
      );
    });

    it("commit removes the job", async () => {
      const { queue, task } = await start();
      await queue.publish(task, { n: 1 });
      const [lease] = await fetchJobs(queue, task, 1, 200);
      await queue.commit(lease!);

      // Past the lease a job that was not removed would come back.
      await sleep(400);
      await expectNothingToFetch(queue, task);
      await eventually(async () => {
        const stats = await queue.stats(task);
        expect(stats.depth).toBe(0);
        expect(stats.inFlight).toBe(0);
      }, { timeoutMs });
    });

    it("expired lease is delivered again", async () => {
      const { queue, task } = await start();
      const card = await queue.publish(task, { n: 1 });
      const [first] = await fetchJobs(queue, task, 1, 200);
      expect(first!.job.attempts).toBe(1);

      const [second] = await fetchJobs(queue, task, 1, 5_000);
      expect(second!.job.id).toBe(card.id);
      expect(second!.job.attempts).toBe(2);
    });

    it("running job is hidden from other consumers", async () => {
      const { queue, task } = await start();
      const card = await queue.publish(task, { n: 1 });
      const [lease] = await fetchJobs(queue, task, 1, 10_000);
      expect(lease!.job.id).toBe(card.id);

      await expectNothingToFetch(queue, task);
      await eventually(async () => {
        expect((await queue.stats(task)).inFlight).toBe(1);
      }, { timeoutMs });
    });

    it("stats count depth and in-flight jobs", async () => {
      const { queue, task } = await start();
      await queue.publishBatch([1, 2, 3].map((n) => ({ task, payload: { n } })));
      await eventually(async () => {
        expect((await queue.stats(task)).depth).toBe(3);
      }, { timeoutMs });

      await fetchJobs(queue, task, 1, 10_000);
      await eventually(async () => {
        const stats = await queue.stats(task);
        expect(stats.task).toBe(task);
        expect(stats.depth).toBe(2);
        expect(stats.inFlight).toBe(1);
        expect(stats.dead).toBe(0);
      }, { timeoutMs });
    });

    it("fail retries with increasing delay", async () => {
      const { queue, task } = await start();
      const card = await queue.publish(task, { n: 1 }, { maxAttempts: 6 });
      const delays: number[] = [];

      for (let attempt = 1; attempt <= 4; attempt++) {
        const [lease] = await fetchJobs(queue, task, 1, 10_000);
        expect(lease!.job.id).toBe(card.id);
        expect(lease!.job.attempts).toBe(attempt);
        if (attempt > 1) expect(lease!.job.lastError?.message).toBe(`attempt ${attempt - 1} failed`);

        const failedAt = Date.now();
        const outcome = await queue.fail(lease!, new Error(`attempt ${attempt} failed`));
        expect(outcome.action).toBe("retry");
        expect(outcome.attempts).toBe(attempt);
        if (outcome.action === "retry") delays.push(Date.parse(outcome.retryAt) - failedAt);
      }

      // Jitter of up to half the delay may reorder neighbours, but two doublings apart the delay must have grown.
      const summary = `retry delays in ms: ${delays.join(", ")}`;
      expect(delays[0], summary).toBeGreaterThan(0);
      expect(delays[2], summary).toBeGreaterThan(delays[0]!);
      expect(delays[3], summary).toBeGreaterThan(delays[1]!);
    });

    it("maxAttempts dead-letters with error", async () => {
      const { queue, task } = await start();
      const card = await queue.publish(task, { n: 1 }, { maxAttempts: 2 });

      const [first] = await fetchJobs(queue, task, 1);
      const retry = await queue.fail(first!, new Error("card declined"));
      expect(retry.action).toBe("retry");

      const [second] = await fetchJobs(queue, task, 1);
      expect(second!.job.attempts).toBe(2);
      const dead = await queue.fail(second!, new Error("card declined again"));
      expect(dead).toMatchObject({ action: "dead", attempts: 2, reason: "max-attempts" });

      const letters = await eventually(async () => {
        const list = await queue.listDeadLetters(task);
        expect(list).toHaveLength(1);
        return list;
      }, { timeoutMs });
      const letter = letters[0]!;
      expect(letter.id).toBe(card.id);
      expect(letter.task).toBe(task);
      expect(letter.reason).toBe("max-attempts");
      expect(letter.attempts).toBe(2);
      expect(letter.job?.id).toBe(card.id);
      expect(letter.job?.payload).toEqual({ n: 1 });
      expect(letter.error?.message).toBe("card declined again");
      expect(Number.isNaN(Date.parse(letter.deadAt))).toBe(false);

      await expectNothingToFetch(queue, task);
      await eventually(async () => {
        expect((await queue.stats(task)).dead).toBe(1);
      }, { timeoutMs });
    });

    it("non-retryable failure dead-letters at once", async () => {
      const { queue, task } = await start();
      await queue.publish(task, { n: 1 }, { maxAttempts: 5 });
      const [lease] = await fetchJobs(queue, task, 1);

      const outcome = await queue.fail(lease!, new Error("unknown SKU"), { retryable: false });
      expect(outcome).toMatchObject({ action: "dead", attempts: 1, reason: "non-retryable" });
      await eventually(async () => {
        const [letter] = await queue.listDeadLetters(task);
        expect(letter?.reason).toBe("non-retryable");
        expect(letter?.error?.message).toBe("unknown SKU");
      }, { timeoutMs });
    });

    it("replay moves dead letters back", async () => {
      const { queue, task } = await start();
      const kept = await deadLetter(queue, task, { n: 1 });
      const replayed = await deadLetter(queue, task, { n: 2 });
      await eventually(async () => {
        expect(await queue.listDeadLetters(task)).toHaveLength(2);
      }, { timeoutMs });

      expect(await queue.replayDeadLetters(task, { ids: [replayed.id] })).toBe(1);
      const [lease] = await fetchJobs(queue, task, 1);
      expect(lease!.job.id).toBe(replayed.id);
      expect(lease!.job.attempts, "replay resets attempts").toBe(1);
      await queue.commit(lease!);

      const remaining = await queue.listDeadLetters(task);
      expect(remaining.map((letter) => letter.id)).toEqual([kept.id]);
      expect(await queue.replayDeadLetters(task)).toBe(1);
      const [again] = await fetchJobs(queue, task, 1);
      expect(again!.job.id).toBe(kept.id);
      expect(await queue.listDeadLetters(task)).toEqual([]);
    });

    it("purge empties the dead-letter queue", async () => {
      const { queue, task } = await start();
      await deadLetter(queue, task, { n: 1 });
      await deadLetter(queue, task, { n: 2 });
      await eventually(async () => {
        expect(await queue.listDeadLetters(task)).toHaveLength(2);
      }, { timeoutMs });

      expect(await queue.purgeDeadLetters(task)).toBe(2);
      expect(await queue.listDeadLetters(task)).toEqual([]);
      await eventually(async () => {
        expect((await queue.stats(task)).dead).toBe(0);
      }, { timeoutMs });
    });

    it("backoff does not block newer jobs", async () => {
      const { queue, task } = await start();
      const waiting = await queue.publish(task, { n: 1 });
      const [lease] = await fetchJobs(queue, task, 1);
      const outcome = await queue.fail(lease!, new Error("payment gateway timed out"), { delayMs: 60_000 });
      expect(outcome.action).toBe("retry");

      const newer = await queue.publish(task, { n: 2 });
      const [next] = await fetchJobs(queue, task, 1);
      expect(next!.job.id).toBe(newer.id);
      expect(next!.job.id).not.toBe(waiting.id);
      await eventually(async () => {
        expect((await queue.stats(task)).delayed).toBe(1);
      }, { timeoutMs });
    });

    it("publish rejects invalid options", async () => {
      const { queue, task } = await start();
      await expectBridgeError(queue.publish(task, {}, { priority: 0 }), "VALIDATION_FAILED", ["priority"]);
      await expectBridgeError(queue.publish(task, {}, { priority: 11 }), "VALIDATION_FAILED", ["11"]);
      await expectBridgeError(queue.publish(task, {}, { priority: 2.5 }), "VALIDATION_FAILED", ["2.5"]);
      await expectBridgeError(queue.publish(task, {}, { maxAttempts: 0 }), "VALIDATION_FAILED");
      await expectBridgeError(queue.publish("", {}), "VALIDATION_FAILED");
      await expectNothingToFetch(queue, task);
    });

    it("fetch rejects an invalid maximum", async () => {
      const { queue, task } = await start();
      await expectBridgeError(queue.fetchBatch(task, { max: 0 }), "VALIDATION_FAILED");
      await expectBridgeError(queue.fetchBatch(task, { max: -1 }), "VALIDATION_FAILED");
    });

    it.runIf(declared.idempotentPublish)("idempotency key yields one job", async () => {
      const { queue, task, namespace } = await start();
      const first = await queue.publish(task, { n: 1 }, { idempotencyKey: "order-1001-confirm" });
      const second = await queue.publish(task, { n: 2 }, { idempotencyKey: "order-1001-confirm" });
      expect(second.id).toBe(first.id);
      expect(second.payload).toEqual({ n: 1 });

      // The key is scoped to the task: another task gets its own job.
      const other = await queue.publish(`${namespace}.other`, { n: 3 }, { idempotencyKey: "order-1001-confirm" });
      expect(other.id).not.toBe(first.id);

      const [lease] = await fetchJobs(queue, task, 1);
      expect(lease!.job.id).toBe(first.id);
      await expectNothingToFetch(queue, task);
    });

    it.runIf(declared.priority)("higher priority is delivered first", async () => {
      const { queue, task } = await start();
      const published = [1, 10, 5];
      for (const priority of published) {
        await queue.publish(task, { priority }, { priority });
      }
      await eventually(async () => {
        expect((await queue.stats(task)).depth).toBe(3);
      }, { timeoutMs });

      // Each job carries its published priority in the payload, so the order does not rely on job.priority.
      const delivered: Array<{ published: number; onCard: number }> = [];
      for (let i = 0; i < 3; i++) {
        const [lease] = await fetchJobs<{ priority: number }>(queue, task, 1, 10_000);
        delivered.push({ published: lease!.job.payload.priority, onCard: lease!.job.priority });
      }
      expect(
        delivered.map((job) => job.published),
        `delivery order, as the priorities the jobs were published with (published in the order ${published.join(", ")}); the highest priority must come first`,
      ).toEqual([10, 5, 1]);
      expect(
        delivered.map((job) => job.onCard),
        "job.priority of each delivered job must equal the priority it was published with",
      ).toEqual(delivered.map((job) => job.published));
    });

    it.runIf(declared.delay)("delayed job waits for its time", async () => {
      const { queue, task } = await start();
      const later = await queue.publish(task, { n: "later" }, { delayMs: 60_000 });
      const soon = await queue.publish(task, { n: "soon" }, { delayMs: 300 });
      expect(later.scheduledFor).not.toBeNull();
      expect(Date.parse(later.scheduledFor!)).toBeGreaterThanOrEqual(Date.parse(later.createdAt) + 60_000);

      const [lease] = await fetchJobs(queue, task, 1);
      expect(lease!.job.id).toBe(soon.id);
      expect(lease!.job.scheduledFor).toBe(soon.scheduledFor);
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(soon.scheduledFor!));
      await expectNothingToFetch(queue, task);
      await eventually(async () => {
        expect((await queue.stats(task)).delayed).toBe(1);
      }, { timeoutMs });
    });

    it.runIf(declared.delay)("scheduledFor wins over delayMs", async () => {
      const { queue, task } = await start();
      const at = new Date(Date.now() + 3_600_000);
      const card = await queue.publish(task, { n: 1 }, { delayMs: 10, scheduledFor: at });
      expect(Date.parse(card.scheduledFor!)).toBe(at.getTime());
      await expectNothingToFetch(queue, task);
    });

    it("invalid job card is dead-lettered", async (context) => {
      const running = await start();
      const { queue, task, injectRaw } = running;
      if (!injectRaw) {
        context.skip(`provider ${options.provider} gave no injectRaw hook, so the kit cannot put a foreign message on the queue`);
        return;
      }
      const handled: string[] = [];
      running.consumers.push(
        queue.consume(task, async (job) => {
          handled.push(job.id);
        }, { pollIntervalMs: 20 }),
      );

      const corrupt = "{not json";
      const foreign = JSON.stringify({ hello: "from another producer" });
      await injectRaw(task, corrupt);
      await injectRaw(task, foreign);
      const valid = await queue.publish(task, { n: 1 });

      await eventually(() => expect(handled).toContain(valid.id), { timeoutMs });
      const letters = await eventually(async () => {
        const list = await queue.listDeadLetters(task);
        expect(list).toHaveLength(2);
        return list;
      }, { timeoutMs });
      expect(letters.map((letter) => letter.raw).sort()).toEqual([corrupt, foreign].sort());
      for (const letter of letters) {
        expect(letter.reason).toBe("invalid-job-card");
        expect(letter.job).toBeNull();
        expect(letter.error?.message, "the dead letter must say why the message is invalid").toMatch(/\S/);
      }
      expect(handled).toEqual([valid.id]);
    });

    it("consume retries a throwing handler", async () => {
      const running = await start();
      const { queue, task } = running;
      const attempts: number[] = [];
      running.consumers.push(
        queue.consume(task, async (job) => {
          attempts.push(job.attempts);
          if (job.attempts === 1) throw new Error("warehouse API timed out");
        }, { pollIntervalMs: 20 }),
      );

      await queue.publish(task, { n: 1 });
      await eventually(() => expect(attempts).toEqual([1, 2]), { timeoutMs });
      await eventually(async () => {
        const stats = await queue.stats(task);
        expect(stats.depth + stats.inFlight + stats.delayed + stats.dead).toBe(0);
      }, { timeoutMs });
    });

    it("handler runs in the job's tenant", async () => {
      const running = await start();
      const { queue, task, namespace } = running;
      const seen: Array<{ job: string; context: string }> = [];
      running.consumers.push(
        queue.consume(task, async (job) => {
          seen.push({ job: job.tenantId, context: currentTenantId() });
        }, { pollIntervalMs: 20 }),
      );

      await runWithTenant(`${namespace}-a`, () => queue.publish(task, { n: 1 }));
      await runWithTenant(`${namespace}-b`, () => queue.publish(task, { n: 2 }));
      await eventually(() => expect(seen).toHaveLength(2), { timeoutMs });
      for (const entry of seen) expect(entry.context).toBe(entry.job);
      expect(seen.map((entry) => entry.job).sort()).toEqual([`${namespace}-a`, `${namespace}-b`]);
    });

    it("competing consumers process each job once", async () => {
      const running = await start();
      const { queue, task } = running;
      const total = 40;
      // Handler calls per job id.
      const counts = new Map<string, number>();
      const handler = async (job: JobCard<{ n: number }>) => {
        counts.set(job.id, (counts.get(job.id) ?? 0) + 1);
        await sleep(2);
      };
      for (let i = 0; i < 3; i++) {
        running.consumers.push(queue.consume(task, handler, { concurrency: 2, batchSize: 4, leaseMs: 10_000, pollIntervalMs: 20 }));
      }

      const cards = await queue.publishBatch(Array.from({ length: total }, (_, n) => ({ task, payload: { n } })));
      await eventually(() => expectAllDelivered(cards, new Set(counts.keys())), { timeoutMs });
      await Promise.all(running.consumers.splice(0).map((consumer) => consumer.stop({ drainMs: 2_000 })));

      const repeated = [...counts].filter(([, count]) => count !== 1);
      expect(repeated, "jobs handled more than once, as [job id, handler calls]").toEqual([]);
    });

    it("close drains in-flight work", async () => {
      const running = await start();
      const { queue, task } = running;
      const progress = { started: false, finished: false };
      running.consumers.push(
        queue.consume(task, async () => {
          progress.started = true;
          await sleep(200);
          progress.finished = true;
        }, { pollIntervalMs: 20 }),
      );

      await queue.publish(task, { n: 1 });
      await eventually(() => expect(progress.started).toBe(true), { timeoutMs });
      running.closed = true;
      await queue.close({ drainMs: 5_000 });
      expect(progress.finished, "close returned before the running handler finished").toBe(true);
    });

    it.runIf(declared.orderingByKey)("same ordering key keeps publish order", async () => {
      const running = await start();
      const { queue, task } = running;
      const order: Record<string, number[]> = { "customer-1": [], "customer-2": [] };
      running.consumers.push(
        queue.consume<{ key: string; n: number }>(task, async (job) => {
          order[job.payload.key]!.push(job.payload.n);
          await sleep(5);
        }, { concurrency: 4, batchSize: 4, leaseMs: 10_000, pollIntervalMs: 20 }),
      );

      const items = [];
      for (let n = 0; n < 10; n++) {
        for (const key of ["customer-1", "customer-2"]) {
          items.push({ task, payload: { key, n }, options: { orderingKey: key } });
        }
      }
      await queue.publishBatch(items);

      const expected = Array.from({ length: 10 }, (_, n) => n);
      await eventually(() => {
        expect(order["customer-1"]).toEqual(expected);
        expect(order["customer-2"]).toEqual(expected);
      }, { timeoutMs });
    });
  }, { caseTimeoutMs });
}
