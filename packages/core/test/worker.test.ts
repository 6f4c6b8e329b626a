import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryQueue, type MemoryQueue } from "../src/embedded/queue.js";
import { isBridgeError, UnavailableError, ValidationError } from "../src/errors.js";
import type { WorkerRecord, WorkerRegistryModule, WorkerStatus, WorkerVitals } from "../src/roles/data/workers.js";
import type { Logger } from "../src/roles/logs.js";
import type { JobCard, QueueRole } from "../src/roles/queue.js";
import { currentTraceparent, withSpan } from "../src/telemetry.js";
import { currentContext, runWithTenant } from "../src/tenant.js";
import { createWorker, defineWorker, type Worker, type WorkerDefinition } from "../src/worker.js";

// Generous timeout because the machine may be busy; a passing wait returns as soon as its check holds.
function waitFor<T>(check: () => T | Promise<T>): Promise<T> {
  return vi.waitFor(check, { timeout: 10_000, interval: 10 });
}

interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

function recordingLogger(lines: LogLine[], bindings: Record<string, unknown> = {}): Logger {
  const write =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      lines.push({ level, message, fields: { ...bindings, ...fields } });
    };
  return {
    trace: write("trace"),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    fatal: write("fatal"),
    child: (childBindings) => recordingLogger(lines, { ...bindings, ...childBindings }),
  };
}

/** In-memory registry for the tests; the data role provides the real one. */
function fakeRegistry() {
  const records = new Map<string, WorkerRecord>();
  const statuses: WorkerStatus[] = [];
  const heartbeats: Array<Omit<WorkerVitals, "workerId" | "tenantId" | "at">> = [];
  const registry: WorkerRegistryModule = {
    async register(input) {
      const at = new Date().toISOString();
      const record: WorkerRecord = {
        id: input.id ?? "generated",
        tenantId: currentContext().tenantId,
        version: 1,
        createdAt: at,
        updatedAt: at,
        workerType: input.workerType,
        communityId: input.communityId,
        hostname: input.hostname,
        pid: input.pid,
        tasks: input.tasks,
        status: "starting",
        lastCallHome: at,
        attributes: input.attributes ?? {},
      };
      records.set(record.id, record);
      return record;
    },
    async heartbeat(workerId, vitals) {
      heartbeats.push(vitals);
      return records.get(workerId) as WorkerRecord;
    },
    async setStatus(workerId, status) {
      statuses.push(status);
      const record = records.get(workerId) as WorkerRecord;
      record.status = status;
      return record;
    },
    async get(workerId) {
      return records.get(workerId) ?? null;
    },
    async discover() {
      return { items: [...records.values()], nextCursor: null };
    },
    async markStale() {
      return [];
    },
    async vitals() {
      return [];
    },
  };
  return { registry, records, statuses, heartbeats };
}

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

function setup(queueOptions: Parameters<typeof createMemoryQueue>[0] = {}) {
  const lines: LogLine[] = [];
  const logger = recordingLogger(lines);
  const queue = createMemoryQueue({ logger, backoff: { baseMs: 1, maxMs: 5 }, ...queueOptions });
  cleanups.push(() => queue.close({ drainMs: 200 }));
  const start = async <P>(
    definition: WorkerDefinition<P>,
    extra: { registry?: WorkerRegistryModule; queue?: QueueRole } = {},
  ): Promise<Worker> => {
    const worker = createWorker<P>(
      { queue: extra.queue ?? queue, logger, ...(extra.registry ? { registry: extra.registry } : {}) },
      { pollIntervalMs: 20, ...definition },
    );
    cleanups.push(() => worker.stop({ drainMs: 200 }));
    await worker.start();
    return worker;
  };
  return { queue, lines, logger, start };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe("worker", () => {
  it("runs each job in its tenant and commits it", async () => {
    const { queue, start } = setup();
    const seen: Array<{ id: string; tenant: string; attempt: number }> = [];
    const worker = await start<{ sku: string }>({
      task: "inventory.sync",
      handler: async (job, context) => {
        seen.push({ id: job.id, tenant: currentContext().tenantId, attempt: context.attempt });
      },
    });

    const a = await runWithTenant("tenant-a", () => queue.publish("inventory.sync", { sku: "SKU-1" }));
    const b = await runWithTenant("tenant-b", () => queue.publish("inventory.sync", { sku: "SKU-2" }));

    await waitFor(() => expect(worker.counters.processed).toBe(2));
    expect(seen).toContainEqual({ id: a.id, tenant: "tenant-a", attempt: 1 });
    expect(seen).toContainEqual({ id: b.id, tenant: "tenant-b", attempt: 1 });
    expect(worker.counters).toEqual({ processed: 2, failed: 0, deadLettered: 0, inFlight: 0 });
    expect(await queue.stats("inventory.sync")).toMatchObject({ depth: 0, inFlight: 0 });
  });

  it("logs start and stop with the worker id", async () => {
    const { lines, start } = setup();
    const worker = await start({ task: "inventory.sync", handler: async () => undefined });
    await worker.stop();

    const started = lines.find((line) => line.message.includes("started"));
    const stopped = lines.find((line) => line.message.endsWith("stopped"));
    expect(started?.fields).toMatchObject({ workerId: worker.id, task: "inventory.sync" });
    expect(stopped?.fields).toMatchObject({ workerId: worker.id, processed: 0 });
    expect(worker.state).toBe("stopped");
  });

  it("retries a failed job and logs the retry", async () => {
    const { queue, lines, start } = setup();
    let calls = 0;
    const worker = await start({
      task: "inventory.sync",
      handler: async () => {
        calls += 1;
        if (calls === 1) throw new Error("warehouse API returned 503");
      },
    });
    const job = await runWithTenant("tenant-a", () => queue.publish("inventory.sync", {}));

    await waitFor(() => expect(worker.counters.processed).toBe(1));
    expect(worker.counters.failed).toBe(1);
    const retry = lines.find((line) => line.level === "warn" && line.message.includes("retrying"));
    expect(retry?.message).toContain("attempt 1 of 3");
    expect(retry?.fields).toMatchObject({ jobId: job.id, task: "inventory.sync", tenantId: "tenant-a", workerId: worker.id });
    expect((retry?.fields["err"] as Error).message).toBe("warehouse API returned 503");
  });

  it("dead-letters a job that keeps failing with its error and attempts", async () => {
    const { queue, lines, start } = setup();
    const worker = await start({
      task: "inventory.sync",
      handler: async () => {
        throw new Error("SKU feed unreachable");
      },
    });
    const job = await queue.publish("inventory.sync", {}, { maxAttempts: 3 });

    await waitFor(() => expect(worker.counters.deadLettered).toBe(1));
    expect(worker.counters.failed).toBe(3);
    const [dead] = await queue.listDeadLetters("inventory.sync");
    expect(dead).toMatchObject({ id: job.id, reason: "max-attempts", attempts: 3 });
    expect(dead?.error?.message).toBe("SKU feed unreachable");
    const logged = lines.find((line) => line.level === "error" && line.message.includes("dead-letter queue"));
    expect(logged?.fields).toMatchObject({ jobId: job.id, task: "inventory.sync", reason: "max-attempts" });
  });

  it("dead-letters invalid input without retrying", async () => {
    const { queue, start } = setup();
    let calls = 0;
    const worker = await start({
      task: "inventory.sync",
      handler: async () => {
        calls += 1;
        throw new ValidationError('Unknown UOM "crate"');
      },
    });
    await queue.publish("inventory.sync", {}, { maxAttempts: 5 });

    await waitFor(() => expect(worker.counters.deadLettered).toBe(1));
    expect(calls).toBe(1);
    const [dead] = await queue.listDeadLetters("inventory.sync");
    expect(dead?.reason).toBe("non-retryable");
  });

  it("dead-letters malformed job cards and keeps processing", async () => {
    const { queue, lines, start } = setup();
    const handled: string[] = [];
    const worker = await start({
      task: "inventory.sync",
      handler: async (job) => {
        handled.push(job.id);
      },
    });

    queue.injectRaw("inventory.sync", "not json");
    queue.injectRaw("inventory.sync", JSON.stringify({ sku: "SKU-1", quantity: 3 }));
    const valid = await queue.publish("inventory.sync", { sku: "SKU-2" });

    await waitFor(() => expect(handled).toEqual([valid.id]));
    const dead = await queue.listDeadLetters("inventory.sync");
    expect(dead.map((entry) => entry.reason)).toEqual(["invalid-job-card", "invalid-job-card"]);
    expect(dead.map((entry) => entry.raw)).toEqual(["not json", JSON.stringify({ sku: "SKU-1", quantity: 3 })]);
    expect(dead[0]?.error?.message).toContain("not JSON");
    expect(dead[1]?.error?.message).toContain("id: Required");
    expect(worker.state).toBe("running");
    expect(lines.filter((line) => line.level === "error" && line.message.includes("not a valid job card"))).toHaveLength(2);
  });

  it("aborts a handler past its timeout and fails the job", async () => {
    const { queue, start } = setup();
    let signalReason: unknown;
    const worker = await start({
      task: "inventory.sync",
      handler: (_job, { signal }) =>
        new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => {
            signalReason = signal.reason;
            resolve();
          });
        }),
    });
    await queue.publish("inventory.sync", {}, { timeoutMs: 25, maxAttempts: 2 });

    await waitFor(() => expect(worker.counters.deadLettered).toBe(1));
    expect(worker.counters.failed).toBe(2);
    expect(isBridgeError(signalReason, "TIMEOUT")).toBe(true);
    const [dead] = await queue.listDeadLetters("inventory.sync");
    expect(dead?.reason).toBe("handler-timeout");
    expect(dead?.attempts).toBe(2);
  });

  it("runs up to concurrency jobs at once", async () => {
    const { queue, start } = setup();
    const gate = deferred();
    let running = 0;
    let peak = 0;
    const worker = await start({
      task: "inventory.sync",
      concurrency: 3,
      batchSize: 10,
      handler: async () => {
        running += 1;
        peak = Math.max(peak, running);
        await gate.promise;
        running -= 1;
      },
    });
    await queue.publishBatch(Array.from({ length: 6 }, (_, index) => ({ task: "inventory.sync", payload: index })));

    await waitFor(() => expect(worker.counters.inFlight).toBe(3));
    // The worker holds no more leases than it can run.
    expect(await queue.stats("inventory.sync")).toMatchObject({ inFlight: 3, depth: 3 });
    gate.resolve();
    await waitFor(() => expect(worker.counters.processed).toBe(6));
    expect(peak).toBe(3);
  });

  it("lets competing workers process every job exactly once", async () => {
    const { queue, start } = setup();
    const counts = new Map<string, number>();
    const handler = async (job: JobCard) => {
      counts.set(job.id, (counts.get(job.id) ?? 0) + 1);
    };
    const workers = [
      await start({ task: "inventory.sync", concurrency: 2, handler }),
      await start({ task: "inventory.sync", concurrency: 2, handler }),
      await start({ task: "inventory.sync", handler }),
    ];
    const jobs = await queue.publishBatch(Array.from({ length: 40 }, (_, index) => ({ task: "inventory.sync", payload: index })));

    await waitFor(() => expect(counts.size).toBe(40));
    await Promise.all(workers.map((worker) => worker.stop()));
    expect([...counts.keys()].sort()).toEqual(jobs.map((job) => job.id).sort());
    expect([...counts.values()].filter((count) => count !== 1)).toEqual([]);
    expect(workers.reduce((sum, worker) => sum + worker.counters.processed, 0)).toBe(40);
  });

  it("waits for in-flight jobs on stop", async () => {
    const { queue, start } = setup();
    const gate = deferred();
    let started = false;
    const worker = await start({
      task: "inventory.sync",
      handler: async () => {
        started = true;
        await gate.promise;
      },
    });
    await queue.publish("inventory.sync", {});
    await waitFor(() => expect(started).toBe(true));

    let stopped = false;
    const stopping = worker.stop({ drainMs: 10_000 }).then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(stopped).toBe(false);
    expect(worker.state).toBe("draining");

    gate.resolve();
    await stopping;
    expect(worker.counters.processed).toBe(1);
    expect(await queue.stats("inventory.sync")).toMatchObject({ inFlight: 0, depth: 0 });
  });

  it("aborts jobs still running at the drain deadline", async () => {
    const { queue, lines, start } = setup();
    let aborted = false;
    const worker = await start({
      task: "inventory.sync",
      handler: (_job, { signal }) =>
        new Promise<void>(() => {
          signal.addEventListener("abort", () => (aborted = true));
        }),
    });
    const job = await queue.publish("inventory.sync", {});
    await waitFor(() => expect(worker.counters.inFlight).toBe(1));

    await worker.stop({ drainMs: 20 });
    expect(aborted).toBe(true);
    expect(worker.state).toBe("stopped");
    const warning = lines.find((line) => line.level === "warn" && line.message.includes("still running"));
    expect(warning?.fields["jobIds"]).toEqual([job.id]);
    // The lease was neither committed nor failed, so the job is still leased.
    expect(await queue.stats("inventory.sync")).toMatchObject({ inFlight: 1, dead: 0 });
  });

  it("registers, sends heartbeats and reports its status", async () => {
    const { queue, start } = setup();
    const { registry, records, statuses, heartbeats } = fakeRegistry();
    const worker = await start({ task: "inventory.sync", heartbeatMs: 10, handler: async () => undefined }, { registry });
    await queue.publish("inventory.sync", {});

    await waitFor(() => expect(heartbeats.length).toBeGreaterThanOrEqual(2));
    const record = records.get(worker.id);
    expect(record).toMatchObject({ workerType: "inventory.sync", communityId: "default", tasks: ["inventory.sync"], pid: process.pid });
    expect(heartbeats[0]?.rssBytes).toBeGreaterThan(0);
    expect(heartbeats[0]?.heapUsedBytes).toBeGreaterThan(0);
    await waitFor(() => expect(heartbeats.at(-1)?.processed).toBe(1));

    await worker.stop();
    expect(statuses).toEqual(["running", "draining", "stopped"]);
    const count = heartbeats.length;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(heartbeats.length).toBe(count);
  });

  it("does not start when registration fails", async () => {
    const { lines, start } = setup();
    const { registry } = fakeRegistry();
    registry.register = async () => {
      throw new UnavailableError("worker registry is down");
    };

    await expect(start({ task: "inventory.sync", handler: async () => undefined }, { registry })).rejects.toThrow(
      "worker registry is down",
    );
    expect(lines.some((line) => line.level === "error" && line.message.includes("does not start"))).toBe(true);
  });

  it("logs fetch errors and keeps polling", async () => {
    const { queue, lines, start } = setup();
    let failures = 1;
    const flaky: QueueRole = {
      ...queue,
      fetchBatch: (task, options) => {
        if (failures > 0) {
          failures -= 1;
          return Promise.reject(new UnavailableError("broker connection reset"));
        }
        return queue.fetchBatch(task, options);
      },
    };
    const worker = await start({ task: "inventory.sync", handler: async () => undefined }, { queue: flaky });
    await queue.publish("inventory.sync", {});

    await waitFor(() => expect(worker.counters.processed).toBe(1));
    const logged = lines.find((line) => line.level === "error" && line.message.includes("Fetching jobs"));
    expect((logged?.fields["err"] as Error).message).toBe("broker connection reset");
  });

  it("continues the publisher's trace", async () => {
    const { queue, start } = setup();
    const traceparents: Array<string | undefined> = [];
    await start({
      task: "inventory.sync",
      handler: async () => {
        traceparents.push(currentTraceparent());
      },
    });
    const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    await withSpan("checkout", {}, () => queue.publish("inventory.sync", {}), { parent });

    await waitFor(() => expect(traceparents).toHaveLength(1));
    expect(traceparents[0]?.split("-")[1]).toBe("0af7651916cd43dd8448eb211c80319c");
  });

  it.each<[string, Partial<WorkerDefinition>, RegExp]>([
    ["a bad task name", { task: "no spaces" }, /Invalid task name/],
    ["zero concurrency", { concurrency: 0 }, /concurrency must be an integer of 1 or more \(got 0\)/],
    ["fractional batch size", { batchSize: 1.5 }, /batchSize/],
    ["a missing handler", { handler: undefined as unknown as WorkerDefinition["handler"] }, /handler must be a function/],
  ])("rejects a definition with %s", (_label, overrides, expected) => {
    const lines: LogLine[] = [];
    const queue = createMemoryQueue({ logger: recordingLogger(lines) });
    cleanups.push(() => queue.close());
    const definition = { task: "inventory.sync", handler: async () => undefined, ...overrides } as WorkerDefinition;

    expect(() => createWorker({ queue, logger: recordingLogger(lines) }, definition)).toThrow(expected);
  });

  it("cannot start again after stop", async () => {
    const { start } = setup();
    const worker = await start({ task: "inventory.sync", handler: async () => undefined });
    await worker.stop();

    await expect(worker.start()).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("stops fetching when the queue closes", async () => {
    const lines: LogLine[] = [];
    const logger = recordingLogger(lines);
    const queue: MemoryQueue = createMemoryQueue({ logger });
    const worker = createWorker({ queue, logger }, { task: "inventory.sync", pollIntervalMs: 10, handler: async () => undefined });
    cleanups.push(() => worker.stop({ drainMs: 100 }));
    await worker.start();

    await queue.close();
    await waitFor(() => expect(lines.some((line) => line.message.includes("is closed; worker stops fetching"))).toBe(true));
  });

  it("defineWorker keeps the definition", () => {
    const definition = { task: "inventory.sync", handler: async () => undefined };
    expect(defineWorker(definition)).toBe(definition);
  });
});
