import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryQueue, type MemoryQueue, type MemoryQueueOptions } from "../src/embedded/queue.js";
import { BridgeError, isBridgeError, ValidationError } from "../src/errors.js";
import { createHandlerTimeoutError } from "../src/jobcard.js";
import type { Logger } from "../src/roles/logs.js";
import type { JobCard, Lease } from "../src/roles/queue.js";
import { currentTenantId, runWithTenant } from "../src/tenant.js";

// Generous timeout because the machine may be busy; a passing wait returns as soon as its check holds.
function waitFor<T>(check: () => T | Promise<T>): Promise<T> {
  return vi.waitFor(check, { timeout: 10_000, interval: 10 });
}

interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

function recordingLogger(lines: LogLine[] = [], bindings: Record<string, unknown> = {}): Logger {
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

/** Creates a queue on a hand-driven clock, so leases, delays and backoff expire only when a test advances it. */
function manualQueue(options: MemoryQueueOptions = {}) {
  const clock = { now: Date.parse("2025-03-01T10:00:00.000Z") };
  const queue = createMemoryQueue({ logger: recordingLogger(), ...options, now: () => clock.now });
  queues.push(queue);
  return { queue, clock };
}

const queues: MemoryQueue[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(queues.splice(0).map((queue) => queue.close({ drainMs: 100 })));
});

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to reject");
}

describe("embedded queue: publish and fetch", () => {
  it("delivers a published job once and forgets it on commit", async () => {
    const { queue } = manualQueue();
    const published = await queue.publish("order.place", { engagementId: "e-1" });

    const [lease, ...rest] = await queue.fetchBatch("order.place", { max: 10 });
    expect(rest).toEqual([]);
    expect(lease?.job.id).toBe(published.id);
    expect(lease?.job.payload).toEqual({ engagementId: "e-1" });
    expect(lease?.job.attempts).toBe(1);
    expect(await queue.stats("order.place")).toMatchObject({ depth: 0, inFlight: 1 });

    await queue.commit(lease as Lease);
    expect(await queue.stats("order.place")).toMatchObject({ depth: 0, inFlight: 0, dead: 0 });
    expect(await queue.fetchBatch("order.place", { max: 10 })).toEqual([]);
  });

  it("delivers higher priority first and keeps publish order within a priority", async () => {
    const { queue } = manualQueue();
    const low = await queue.publish("order.place", "low", { priority: 1 });
    const normalA = await queue.publish("order.place", "normal-a");
    const high = await queue.publish("order.place", "high", { priority: 10 });
    const normalB = await queue.publish("order.place", "normal-b");

    const leases = await queue.fetchBatch("order.place", { max: 10 });
    expect(leases.map((lease) => lease.job.id)).toEqual([high.id, normalA.id, normalB.id, low.id]);
  });

  it("respects max", async () => {
    const { queue } = manualQueue();
    for (let index = 0; index < 5; index += 1) {
      await queue.publish("order.place", index);
    }
    expect(await queue.fetchBatch("order.place", { max: 2 })).toHaveLength(2);
    expect(await queue.fetchBatch("order.place", { max: 10 })).toHaveLength(3);
  });

  it("holds a delayed job until it is due", async () => {
    const { queue, clock } = manualQueue();
    const job = await queue.publish("order.remind", {}, { delayMs: 60_000 });
    expect(await queue.stats("order.remind")).toMatchObject({ depth: 1, delayed: 1 });

    clock.now += 59_999;
    expect(await queue.fetchBatch("order.remind", { max: 1 })).toEqual([]);

    clock.now += 1;
    const [lease] = await queue.fetchBatch("order.remind", { max: 1 });
    expect(lease?.job.id).toBe(job.id);
  });

  it("holds a job until scheduledFor", async () => {
    const { queue, clock } = manualQueue();
    await queue.publish("order.remind", {}, { scheduledFor: new Date(clock.now + 5000) });

    expect(await queue.fetchBatch("order.remind", { max: 1 })).toEqual([]);
    clock.now += 5000;
    expect(await queue.fetchBatch("order.remind", { max: 1 })).toHaveLength(1);
  });

  it("returns the first job for a repeated idempotency key", async () => {
    const { queue } = manualQueue();
    const first = await queue.publish("order.place", { attempt: 1 }, { idempotencyKey: "order-42" });
    const second = await queue.publish("order.place", { attempt: 2 }, { idempotencyKey: "order-42" });

    expect(second.id).toBe(first.id);
    expect(second.payload).toEqual({ attempt: 1 });
    expect(await queue.stats("order.place")).toMatchObject({ depth: 1 });
  });

  it("scopes idempotency keys by tenant and task", async () => {
    const { queue } = manualQueue();
    const a = await runWithTenant("tenant-a", () => queue.publish("order.place", {}, { idempotencyKey: "k" }));
    const b = await runWithTenant("tenant-b", () => queue.publish("order.place", {}, { idempotencyKey: "k" }));
    const c = await runWithTenant("tenant-a", () => queue.publish("order.cancel", {}, { idempotencyKey: "k" }));

    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
    expect(a.tenantId).toBe("tenant-a");
    expect(b.tenantId).toBe("tenant-b");
  });

  it("forgets an idempotency key after its window", async () => {
    const { queue, clock } = manualQueue({ idempotencyWindowMs: 1000 });
    const first = await queue.publish("order.place", {}, { idempotencyKey: "k" });
    clock.now += 1000;
    const second = await queue.publish("order.place", {}, { idempotencyKey: "k" });

    expect(second.id).not.toBe(first.id);
  });

  it("keeps a stored job apart from the caller's objects", async () => {
    const { queue } = manualQueue();
    const payload = { lines: [{ sku: "SKU-1", quantity: 1 }] };
    await queue.publish("order.place", payload);
    payload.lines[0]!.quantity = 99;

    const [lease] = await queue.fetchBatch<typeof payload>("order.place", { max: 1 });
    expect(lease?.job.payload.lines[0]?.quantity).toBe(1);
  });

  it("publishes a batch all or nothing", async () => {
    const { queue } = manualQueue();
    const jobs = await queue.publishBatch([
      { task: "order.place", payload: 1 },
      { task: "order.place", payload: 2, options: { priority: 9 } },
    ]);
    expect(jobs).toHaveLength(2);

    const error = await thrown(
      queue.publishBatch([
        { task: "order.place", payload: 3 },
        { task: "order.place", payload: 4, options: { priority: 99 } },
      ]),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/^publishBatch item 1: .*priority/);
    expect(await queue.stats("order.place")).toMatchObject({ depth: 2 });
  });

  it("stamps the tenant of the current context", async () => {
    const { queue } = manualQueue();
    const job = await runWithTenant("tenant-a", () => queue.publish("order.place", {}));
    const [lease] = await queue.fetchBatch("order.place", { max: 1 });

    expect(job.tenantId).toBe("tenant-a");
    expect(lease?.job.tenantId).toBe("tenant-a");
  });
});

describe("embedded queue: bad input", () => {
  it("rejects a payload over the limit", async () => {
    const { queue } = manualQueue({ maxPayloadBytes: 64 });
    const error = await thrown(queue.publish("catalog.import", { rows: "x".repeat(100) }));

    expect(isBridgeError(error, "PAYLOAD_TOO_LARGE")).toBe(true);
    expect((error as Error).message).toContain("limit of 64 bytes");
    expect(await queue.stats("catalog.import")).toMatchObject({ depth: 0 });
  });

  it("rejects invalid publish options", async () => {
    const { queue } = manualQueue();
    await expect(queue.publish("order.place", {}, { priority: 0 })).rejects.toThrow(/priority must be an integer from 1 to 10 \(got 0\)/);
    await expect(queue.publish("order.place", {}, { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
    await expect(queue.publish("order.place", {}, { delayMs: -10 })).rejects.toThrow(/delayMs/);
    await expect(queue.publish("bad task", {})).rejects.toThrow(/Invalid task name "bad task"/);
  });

  it("rejects invalid fetch options", async () => {
    const { queue } = manualQueue();
    await expect(queue.fetchBatch("order.place", { max: 0 })).rejects.toThrow(/max must be an integer of 1 or more \(got 0\)/);
    await expect(queue.fetchBatch("order.place", { max: 1, leaseMs: -1 })).rejects.toThrow(/leaseMs/);
    await expect(queue.fetchBatch("order.place", { max: 1, waitMs: Number.NaN })).rejects.toThrow(/waitMs/);
  });

  it("rejects something that is not a lease", async () => {
    const { queue } = manualQueue();
    await expect(queue.commit({ leaseId: 42 } as unknown as Lease)).rejects.toThrow(ValidationError);
  });

  it("rejects a negative retry delay", async () => {
    const { queue } = manualQueue();
    await queue.publish("order.place", {});
    const [lease] = await queue.fetchBatch("order.place", { max: 1 });

    await expect(queue.fail(lease as Lease, new Error("x"), { delayMs: -1 })).rejects.toThrow(/delayMs -1/);
    // The rejected call changed nothing: the lease still holds.
    await queue.commit(lease as Lease);
  });

  it("rejects invalid queue options", () => {
    expect(() => createMemoryQueue({ defaultLeaseMs: 0 })).toThrow(/defaultLeaseMs must be an integer of 1 or more \(got 0\)/);
    expect(() => createMemoryQueue({ backoff: { baseMs: 1000, maxMs: 10 } })).toThrow(/backoff.maxMs/);
  });
});

describe("embedded queue: leases", () => {
  it("keeps a leased job from other consumers", async () => {
    const { queue, clock } = manualQueue();
    await queue.publish("order.place", {});
    const [first] = await queue.fetchBatch("order.place", { max: 1, leaseMs: 10_000 });
    expect(first).toBeDefined();

    clock.now += 9_999;
    expect(await queue.fetchBatch("order.place", { max: 1 })).toEqual([]);
    expect(await queue.stats("order.place")).toMatchObject({ depth: 0, inFlight: 1 });
  });

  it("delivers a job again when its lease expires", async () => {
    const { queue, clock } = manualQueue();
    const job = await queue.publish("order.place", {});
    const [first] = await queue.fetchBatch("order.place", { max: 1, leaseMs: 10_000 });

    clock.now += 10_000;
    const [second] = await queue.fetchBatch("order.place", { max: 1 });
    expect(second?.job.id).toBe(job.id);
    expect(second?.job.attempts).toBe(2);
    expect(second?.job.lastError?.code).toBe("LEASE_EXPIRED");
    expect(second?.leaseId).not.toBe(first?.leaseId);
  });

  it("rejects commit and fail on a stale lease and changes nothing", async () => {
    const { queue, clock } = manualQueue();
    await queue.publish("order.place", {});
    const [stale] = await queue.fetchBatch("order.place", { max: 1, leaseMs: 1000 });
    clock.now += 1000;
    const [current] = await queue.fetchBatch("order.place", { max: 1, leaseMs: 1000 });

    const commitError = await thrown(queue.commit(stale as Lease));
    expect(isBridgeError(commitError, "LEASE_EXPIRED")).toBe(true);
    expect((commitError as Error).message).toContain("raise leaseMs");
    const failError = await thrown(queue.fail(stale as Lease, new Error("late")));
    expect(isBridgeError(failError, "LEASE_EXPIRED")).toBe(true);

    expect(await queue.stats("order.place")).toMatchObject({ inFlight: 1, dead: 0 });
    await queue.commit(current as Lease);
    expect(await queue.stats("order.place")).toMatchObject({ inFlight: 0, depth: 0 });
  });

  it("rejects a second commit of the same lease", async () => {
    const { queue } = manualQueue();
    await queue.publish("order.place", {});
    const [lease] = await queue.fetchBatch("order.place", { max: 1 });
    await queue.commit(lease as Lease);

    await expect(queue.commit(lease as Lease)).rejects.toMatchObject({ code: "LEASE_EXPIRED" });
  });

  it("dead-letters a job whose lease expires on its last attempt", async () => {
    const { queue, clock } = manualQueue();
    await queue.publish("order.place", {}, { maxAttempts: 1 });
    await queue.fetchBatch("order.place", { max: 1, leaseMs: 1000 });
    clock.now += 1000;

    expect(await queue.fetchBatch("order.place", { max: 1 })).toEqual([]);
    const [dead] = await queue.listDeadLetters("order.place");
    expect(dead?.reason).toBe("max-attempts");
    expect(dead?.attempts).toBe(1);
    expect(dead?.error?.code).toBe("LEASE_EXPIRED");
  });

  it("puts a job whose lease expired ahead of jobs published after it", async () => {
    const { queue, clock } = manualQueue();
    const first = await queue.publish("order.place", "first");
    await queue.fetchBatch("order.place", { max: 1, leaseMs: 1000 });
    await queue.publish("order.place", "second");
    clock.now += 1000;

    const [lease] = await queue.fetchBatch("order.place", { max: 1 });
    expect(lease?.job.id).toBe(first.id);
  });
});

describe("embedded queue: failures and dead letters", () => {
  it("retries with backoff and records the last error", async () => {
    const { queue, clock } = manualQueue({ backoff: { baseMs: 1000, maxMs: 60_000 } });
    const job = await queue.publish("order.place", {});
    const [lease] = await queue.fetchBatch("order.place", { max: 1 });

    const outcome = await queue.fail(lease as Lease, new Error("warehouse API returned 503"));
    expect(outcome.action).toBe("retry");
    const retryAt = outcome.action === "retry" ? Date.parse(outcome.retryAt) : Number.NaN;
    // Equal jitter: between half the base delay and the base delay.
    expect(retryAt - clock.now).toBeGreaterThanOrEqual(500);
    expect(retryAt - clock.now).toBeLessThanOrEqual(1000);
    expect(await queue.stats("order.place")).toMatchObject({ depth: 1, delayed: 1, inFlight: 0 });

    clock.now = retryAt - 1;
    expect(await queue.fetchBatch("order.place", { max: 1 })).toEqual([]);
    clock.now = retryAt;
    const [retried] = await queue.fetchBatch("order.place", { max: 1 });
    expect(retried?.job.id).toBe(job.id);
    expect(retried?.job.attempts).toBe(2);
    expect(retried?.job.lastError?.message).toBe("warehouse API returned 503");
  });

  it("uses the delay given to fail", async () => {
    const { queue, clock } = manualQueue();
    await queue.publish("order.place", {});
    const [lease] = await queue.fetchBatch("order.place", { max: 1 });
    const outcome = await queue.fail(lease as Lease, new Error("x"), { delayMs: 42_000 });

    expect(outcome).toEqual({ action: "retry", attempts: 1, retryAt: new Date(clock.now + 42_000).toISOString() });
  });

  it("does not let a job waiting on backoff block newer jobs", async () => {
    const { queue } = manualQueue();
    await queue.publish("order.place", "old", { priority: 10 });
    const [old] = await queue.fetchBatch("order.place", { max: 1 });
    await queue.fail(old as Lease, new Error("x"), { delayMs: 60_000 });
    const newer = await queue.publish("order.place", "new", { priority: 1 });

    const leases = await queue.fetchBatch("order.place", { max: 10 });
    expect(leases.map((lease) => lease.job.id)).toEqual([newer.id]);
  });

  it("dead-letters a job that keeps failing, with its error and attempt count", async () => {
    const { queue, clock } = manualQueue();
    const job = await queue.publish("order.place", { engagementId: "e-9" }, { maxAttempts: 3 });

    const outcomes = [];
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const [lease] = await queue.fetchBatch("order.place", { max: 1 });
      expect(lease?.job.attempts).toBe(attempt);
      outcomes.push(await queue.fail(lease as Lease, new Error(`payment gateway down (attempt ${attempt})`)));
      clock.now += 10 * 60_000;
    }

    expect(outcomes.map((outcome) => outcome.action)).toEqual(["retry", "retry", "dead"]);
    expect(outcomes[2]).toEqual({ action: "dead", attempts: 3, reason: "max-attempts" });
    expect(await queue.fetchBatch("order.place", { max: 1 })).toEqual([]);

    const [dead, ...others] = await queue.listDeadLetters("order.place");
    expect(others).toEqual([]);
    expect(dead?.id).toBe(job.id);
    expect(dead?.reason).toBe("max-attempts");
    expect(dead?.attempts).toBe(3);
    expect(dead?.error?.message).toBe("payment gateway down (attempt 3)");
    expect(dead?.job?.payload).toEqual({ engagementId: "e-9" });
    expect(await queue.stats("order.place")).toMatchObject({ depth: 0, inFlight: 0, dead: 1 });
  });

  it("dead-letters a non-retryable failure at once", async () => {
    const { queue } = manualQueue();
    await queue.publish("order.place", {});
    const [lease] = await queue.fetchBatch("order.place", { max: 1 });

    const outcome = await queue.fail(lease as Lease, new ValidationError("unknown SKU"), { retryable: false });
    expect(outcome).toEqual({ action: "dead", attempts: 1, reason: "non-retryable" });
    const [dead] = await queue.listDeadLetters("order.place");
    expect(dead?.error?.code).toBe("VALIDATION_FAILED");
  });

  it("names a final handler timeout", async () => {
    const { queue } = manualQueue();
    await queue.publish("order.place", {}, { maxAttempts: 1 });
    const [lease] = await queue.fetchBatch("order.place", { max: 1 });

    const outcome = await queue.fail(lease as Lease, createHandlerTimeoutError((lease as Lease).job));
    expect(outcome).toMatchObject({ action: "dead", reason: "handler-timeout" });
  });

  it("replays dead letters with attempts reset", async () => {
    const { queue } = manualQueue();
    const a = await queue.publish("order.place", "a", { maxAttempts: 1 });
    const b = await queue.publish("order.place", "b", { maxAttempts: 1 });
    for (const lease of await queue.fetchBatch("order.place", { max: 2 })) {
      await queue.fail(lease, new Error("down"));
    }
    expect(await queue.stats("order.place")).toMatchObject({ dead: 2 });

    expect(await queue.replayDeadLetters("order.place", { ids: [b.id, "unknown-id"] })).toBe(1);
    const [replayed] = await queue.fetchBatch("order.place", { max: 10 });
    expect(replayed?.job.id).toBe(b.id);
    expect(replayed?.job.attempts).toBe(1);
    await queue.commit(replayed as Lease);

    const remaining = await queue.listDeadLetters("order.place");
    expect(remaining.map((entry) => entry.id)).toEqual([a.id]);
    expect(await queue.replayDeadLetters("order.place")).toBe(1);
    expect(await queue.stats("order.place")).toMatchObject({ depth: 1, dead: 0 });
  });

  it("purges dead letters", async () => {
    const { queue } = manualQueue();
    queue.injectRaw("order.place", "garbage");
    queue.injectRaw("order.place", "more garbage");
    await queue.fetchBatch("order.place", { max: 10 });

    expect(await queue.purgeDeadLetters("order.place")).toBe(2);
    expect(await queue.listDeadLetters("order.place")).toEqual([]);
    expect(await queue.purgeDeadLetters("order.place")).toBe(0);
  });

  it("limits listed dead letters", async () => {
    const { queue } = manualQueue();
    for (let index = 0; index < 5; index += 1) {
      queue.injectRaw("order.place", `garbage ${index}`);
    }
    await queue.fetchBatch("order.place", { max: 10 });

    const listed = await queue.listDeadLetters("order.place", { limit: 2 });
    expect(listed.map((entry) => entry.raw)).toEqual(["garbage 0", "garbage 1"]);
    await expect(queue.listDeadLetters("order.place", { limit: 0 })).rejects.toThrow(ValidationError);
  });
});

describe("embedded queue: messages that are not job cards", () => {
  it("dead-letters text that is not JSON and delivers the valid jobs around it", async () => {
    const { queue } = manualQueue();
    const before = await queue.publish("order.place", "before");
    queue.injectRaw("order.place", "not json");
    const after = await queue.publish("order.place", "after");

    const leases = await queue.fetchBatch("order.place", { max: 10 });
    expect(leases.map((lease) => lease.job.id)).toEqual([before.id, after.id]);

    const [dead] = await queue.listDeadLetters("order.place");
    expect(dead?.reason).toBe("invalid-job-card");
    expect(dead?.job).toBeNull();
    expect(dead?.raw).toBe("not json");
    expect(dead?.attempts).toBe(1);
    expect(dead?.error?.code).toBe("INVALID_JOB_CARD");
    expect(dead?.error?.message).toContain("not JSON");
  });

  it("dead-letters JSON that lacks job card fields", async () => {
    const { queue } = manualQueue();
    const raw = JSON.stringify({ orderId: "o-1", note: "from a legacy producer" });
    queue.injectRaw("order.place", new TextEncoder().encode(raw));

    expect(await queue.fetchBatch("order.place", { max: 10 })).toEqual([]);
    const [dead] = await queue.listDeadLetters("order.place");
    expect(dead?.raw).toBe(raw);
    expect(dead?.error?.message).toContain("id: Required");
    expect(dead?.error?.message).toContain("task: Required");
  });

  it("dead-letters a card addressed to another task", async () => {
    const { queue } = manualQueue();
    const { queue: other } = manualQueue();
    const foreign = await other.publish("order.cancel", {});
    queue.injectRaw("order.place", JSON.stringify(foreign));

    expect(await queue.fetchBatch("order.place", { max: 1 })).toEqual([]);
    const [dead] = await queue.listDeadLetters("order.place");
    expect(dead?.error?.message).toContain('task: expected "order.place", got "order.cancel"');
  });

  it("does not replay a message that never was a job card", async () => {
    const { queue } = manualQueue();
    queue.injectRaw("order.place", "not json");
    await queue.fetchBatch("order.place", { max: 1 });

    expect(await queue.replayDeadLetters("order.place")).toBe(0);
    expect(await queue.listDeadLetters("order.place")).toHaveLength(1);
  });
});

describe("embedded queue: long polling", () => {
  it("returns as soon as a job is published", async () => {
    const queue = createMemoryQueue({ logger: recordingLogger() });
    queues.push(queue);
    const fetching = queue.fetchBatch("order.place", { max: 1, waitMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const job = await queue.publish("order.place", {});

    const leases = await fetching;
    expect(leases.map((lease) => lease.job.id)).toEqual([job.id]);
  });

  it("returns empty after waitMs without jobs", async () => {
    vi.useFakeTimers();
    const queue = createMemoryQueue({ logger: recordingLogger() });
    queues.push(queue);
    let result: Lease[] | undefined;
    void queue.fetchBatch("order.place", { max: 1, waitMs: 5000 }).then((leases) => (result = leases));

    await vi.advanceTimersByTimeAsync(4999);
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(result).toEqual([]);
  });

  it("wakes for a delayed job that becomes due", async () => {
    vi.useFakeTimers();
    const queue = createMemoryQueue({ logger: recordingLogger() });
    queues.push(queue);
    const job = await queue.publish("order.remind", {}, { delayMs: 2000 });
    let result: Lease[] | undefined;
    void queue.fetchBatch("order.remind", { max: 1, waitMs: 60_000 }).then((leases) => (result = leases));

    await vi.advanceTimersByTimeAsync(2000);
    expect(result?.map((lease) => lease.job.id)).toEqual([job.id]);
  });

  it("wakes for a lease that expires", async () => {
    vi.useFakeTimers();
    const queue = createMemoryQueue({ logger: recordingLogger() });
    queues.push(queue);
    const job = await queue.publish("order.place", {});
    await queue.fetchBatch("order.place", { max: 1, leaseMs: 3000 });
    let result: Lease[] | undefined;
    void queue.fetchBatch("order.place", { max: 1, waitMs: 60_000 }).then((leases) => (result = leases));

    await vi.advanceTimersByTimeAsync(3000);
    expect(result?.map((lease) => lease.job.id)).toEqual([job.id]);
  });
});

describe("embedded queue: consume", () => {
  it("runs the handler in the job's tenant and commits", async () => {
    const queue = createMemoryQueue({ logger: recordingLogger() });
    queues.push(queue);
    const seen: Array<{ id: string; tenant: string }> = [];
    const consumer = queue.consume(
      "order.place",
      async (job) => {
        seen.push({ id: job.id, tenant: currentTenantId() });
      },
      { pollIntervalMs: 20 },
    );

    const a = await runWithTenant("tenant-a", () => queue.publish("order.place", {}));
    const b = await runWithTenant("tenant-b", () => queue.publish("order.place", {}));

    await waitFor(() => expect(seen).toHaveLength(2));
    expect(seen).toContainEqual({ id: a.id, tenant: "tenant-a" });
    expect(seen).toContainEqual({ id: b.id, tenant: "tenant-b" });
    await waitFor(async () => expect(await queue.stats("order.place")).toMatchObject({ depth: 0, inFlight: 0 }));
    expect((await queue.stats("order.place")).consumers).toBe(1);
    await consumer.stop();
    expect((await queue.stats("order.place")).consumers).toBe(0);
  });

  it("lets competing consumers process every job exactly once", async () => {
    const queue = createMemoryQueue({ logger: recordingLogger() });
    queues.push(queue);
    const handled = new Map<string, number>();
    const handler = async (job: JobCard) => {
      handled.set(job.id, (handled.get(job.id) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 1));
    };
    const consumers = [
      queue.consume("order.place", handler, { concurrency: 3, pollIntervalMs: 20 }),
      queue.consume("order.place", handler, { concurrency: 2, pollIntervalMs: 20 }),
    ];

    const jobs = await queue.publishBatch(Array.from({ length: 60 }, (_, index) => ({ task: "order.place", payload: index })));
    await waitFor(() => expect(handled.size).toBe(60));
    await Promise.all(consumers.map((consumer) => consumer.stop()));

    expect([...handled.keys()].sort()).toEqual(jobs.map((job) => job.id).sort());
    expect([...handled.values()].every((count) => count === 1)).toBe(true);
    expect(await queue.stats("order.place")).toMatchObject({ depth: 0, inFlight: 0, dead: 0 });
  });

  it("aborts a handler that runs past its timeout and fails the job", async () => {
    const queue = createMemoryQueue({ logger: recordingLogger() });
    queues.push(queue);
    let abortReason: unknown;
    queue.consume(
      "order.place",
      (_job, signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => {
            abortReason = signal.reason;
            resolve();
          });
        }),
      { pollIntervalMs: 20 },
    );

    await queue.publish("order.place", {}, { timeoutMs: 30, maxAttempts: 1 });

    await waitFor(async () => expect((await queue.listDeadLetters("order.place")).length).toBe(1));
    const [dead] = await queue.listDeadLetters("order.place");
    expect(dead?.reason).toBe("handler-timeout");
    expect(dead?.error?.code).toBe("TIMEOUT");
    expect(dead?.error?.message).toContain("timed out after 30 ms");
    expect(isBridgeError(abortReason, "TIMEOUT")).toBe(true);
  });

  it("drains in-flight handlers on close", async () => {
    const queue = createMemoryQueue({ logger: recordingLogger() });
    let release: () => void = () => undefined;
    let started = false;
    let finished = false;
    queue.consume(
      "order.place",
      async () => {
        started = true;
        await new Promise<void>((resolve) => (release = resolve));
        finished = true;
      },
      { pollIntervalMs: 20 },
    );
    await queue.publish("order.place", {});
    await waitFor(() => expect(started).toBe(true));

    let closed = false;
    const closing = queue.close({ drainMs: 10_000 }).then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(closed).toBe(false);
    await expect(queue.publish("order.place", {})).rejects.toMatchObject({ code: "CLOSED" });

    release();
    await closing;
    expect(finished).toBe(true);
    expect(closed).toBe(true);
    await expect(queue.fetchBatch("order.place", { max: 1 })).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("rejects work after close", async () => {
    const queue = createMemoryQueue({ logger: recordingLogger() });
    await queue.close();

    await expect(queue.publish("order.place", {})).rejects.toBeInstanceOf(BridgeError);
    expect(() => queue.injectRaw("order.place", "x")).toThrow(/closed/);
    expect(() => queue.consume("order.place", async () => undefined)).toThrow(/closed/);
  });
});
