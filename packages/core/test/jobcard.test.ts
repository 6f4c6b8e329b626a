import { describe, expect, it } from "vitest";
import { BridgeError, ValidationError } from "../src/errors.js";
import {
  assertPayloadSize,
  computeBackoffMs,
  createHandlerTimeoutError,
  createJobCard,
  decideFailure,
  isRetryableJobError,
  MAX_TIMER_MS,
  parseJobCard,
  validateFailOptions,
  type ParsedJobCard,
} from "../src/jobcard.js";
import type { JobCard, PublishOptions } from "../src/roles/queue.js";
import { withSpan } from "../src/telemetry.js";

const NOW = Date.parse("2025-03-01T10:00:00.000Z");

/** Asserts that parsing failed and returns the reason. */
function reasonOf(result: ParsedJobCard): string {
  expect(result.ok).toBe(false);
  return result.ok ? "" : result.reason;
}

/** Asserts that parsing succeeded and returns the job. */
function jobOf(result: ParsedJobCard): JobCard | undefined {
  expect(result.ok).toBe(true);
  return result.ok ? result.job : undefined;
}

function card(overrides: Partial<JobCard> = {}): JobCard {
  return { ...createJobCard("order.place", { engagementId: "e-1" }, {}, "tenant-a", NOW), ...overrides };
}

describe("createJobCard", () => {
  it("fills the defaults", () => {
    const job = createJobCard("order.place", { engagementId: "e-1" }, undefined, "tenant-a", NOW);

    expect(job.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(job.task).toBe("order.place");
    expect(job.payload).toEqual({ engagementId: "e-1" });
    expect(job.tenantId).toBe("tenant-a");
    expect(job.priority).toBe(5);
    expect(job.attempts).toBe(0);
    expect(job.maxAttempts).toBe(3);
    expect(job.timeoutMs).toBe(30_000);
    expect(job.createdAt).toBe("2025-03-01T10:00:00.000Z");
    expect(job.scheduledFor).toBeNull();
    expect(job).not.toHaveProperty("idempotencyKey");
    expect(job).not.toHaveProperty("traceparent");
  });

  it("applies options and the tenant override", () => {
    const job = createJobCard(
      "order.place",
      null,
      { priority: 9, maxAttempts: 7, timeoutMs: 500, idempotencyKey: "k-1", orderingKey: "customer-1", tenantId: "tenant-b" },
      "tenant-a",
      NOW,
    );

    expect(job.priority).toBe(9);
    expect(job.maxAttempts).toBe(7);
    expect(job.timeoutMs).toBe(500);
    expect(job.idempotencyKey).toBe("k-1");
    expect(job.orderingKey).toBe("customer-1");
    expect(job.tenantId).toBe("tenant-b");
    expect(job.payload).toBeNull();
  });

  it("turns delayMs into scheduledFor", () => {
    const job = createJobCard("order.place", {}, { delayMs: 60_000 }, "tenant-a", NOW);
    expect(job.scheduledFor).toBe("2025-03-01T10:01:00.000Z");
  });

  it("lets scheduledFor win over delayMs", () => {
    const job = createJobCard("order.place", {}, { delayMs: 60_000, scheduledFor: "2025-03-02T00:00:00Z" }, "tenant-a", NOW);
    expect(job.scheduledFor).toBe("2025-03-02T00:00:00.000Z");
  });

  it.each<[string, PublishOptions, string]>([
    ["priority 0", { priority: 0 }, "priority must be an integer from 1 to 10 (got 0)"],
    ["priority 11", { priority: 11 }, "priority must be an integer from 1 to 10 (got 11)"],
    ["fractional priority", { priority: 2.5 }, "priority must be an integer from 1 to 10 (got 2.5)"],
    ["priority as text", { priority: "5" as unknown as number }, 'priority must be a number (got "5")'],
    ["maxAttempts 0", { maxAttempts: 0 }, "maxAttempts must be an integer of 1 or more (got 0)"],
    ["negative delay", { delayMs: -1 }, "delayMs must be 0 or more milliseconds (got -1)"],
    ["NaN delay", { delayMs: Number.NaN }, "delayMs"],
    ["zero timeout", { timeoutMs: 0 }, "timeoutMs must be 1 ms or more (got 0)"],
    ["timeout over the timer limit", { timeoutMs: MAX_TIMER_MS + 1 }, "timeoutMs must be at most"],
    ["empty idempotency key", { idempotencyKey: "" }, 'idempotencyKey must not be empty (got "")'],
    ["unparseable scheduledFor", { scheduledFor: "next tuesday" }, 'scheduledFor must be a valid date (got "next tuesday")'],
  ])("rejects %s", (_label, options, expected) => {
    const attempt = () => createJobCard("order.place", {}, options, "tenant-a", NOW);
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(expected);
    expect(attempt).toThrow('task "order.place"');
  });

  it("lists every invalid option in one error", () => {
    let caught: unknown;
    try {
      createJobCard("order.place", {}, { priority: 0, maxAttempts: 0 }, "tenant-a", NOW);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).message).toContain("priority");
    expect((caught as ValidationError).message).toContain("maxAttempts");
    expect((caught as ValidationError).code).toBe("VALIDATION_FAILED");
    expect((caught as ValidationError).role).toBe("queue");
  });

  it.each(["", "has space", ".starts-with-dot", "a".repeat(201), "ümlaut", "order/place"])("rejects task name %j", (task) => {
    expect(() => createJobCard(task, {}, {}, "tenant-a", NOW)).toThrow(/Invalid task name/);
  });

  it("rejects an undefined payload", () => {
    expect(() => createJobCard("order.place", undefined, {}, "tenant-a", NOW)).toThrow(/undefined: pass null or a JSON value/);
  });

  it("rejects an empty tenant", () => {
    expect(() => createJobCard("order.place", {}, {}, "", NOW)).toThrow(/Missing tenant/);
  });

  it("carries the trace context of the publisher", async () => {
    const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const job = await withSpan("publish", {}, () => createJobCard("order.place", {}, {}, "tenant-a", NOW), { parent });
    expect(job.traceparent).toBe(parent);
  });
});

describe("parseJobCard", () => {
  it("accepts an object, JSON text and UTF-8 bytes", () => {
    const job = card({ payload: { note: "café" } });
    const text = JSON.stringify(job);

    for (const raw of [job, text, new TextEncoder().encode(text)]) {
      expect(jobOf(parseJobCard(raw))).toEqual(job);
    }
  });

  it("reports text that is not JSON", () => {
    expect(reasonOf(parseJobCard("not json"))).toMatch(/^not JSON/);
  });

  it("reports bytes that are not UTF-8", () => {
    expect(reasonOf(parseJobCard(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])))).toBe("not JSON: the bytes are not valid UTF-8");
  });

  it("names each missing field", () => {
    const reason = reasonOf(parseJobCard(JSON.stringify({ hello: "world" })));
    for (const field of ["id", "task", "payload", "tenantId", "priority", "attempts", "maxAttempts", "createdAt", "timeoutMs"]) {
      expect(reason).toContain(`${field}:`);
    }
  });

  it.each<[string, Partial<JobCard> | Record<string, unknown>, string]>([
    ["priority out of range", { priority: 42 }, "priority: must be 1 to 10"],
    ["bad task name", { task: "no spaces allowed" }, "task: must be a task name"],
    ["createdAt not a time", { createdAt: "yesterday" }, "createdAt: must be an ISO 8601 time"],
    ["negative attempts", { attempts: -1 }, "attempts: must be 0 or more"],
    ["maxAttempts of zero", { maxAttempts: 0 }, "maxAttempts: must be 1 or more"],
  ])("rejects %s", (_label, overrides, expected) => {
    expect(reasonOf(parseJobCard({ ...card(), ...overrides }))).toContain(expected);
  });

  it("rejects a card without payload", () => {
    const { payload: _payload, ...rest } = card();
    expect(reasonOf(parseJobCard(rest))).toBe("payload: Required");
  });

  it("reports a throwing getter", () => {
    const hostile = Object.defineProperty({ ...card() }, "priority", {
      enumerable: true,
      get() {
        throw new Error("getter exploded");
      },
    });
    expect(reasonOf(parseJobCard(hostile))).toBe("job card: could not be read (getter exploded)");
  });

  it("rejects JSON that is not an object", () => {
    expect(reasonOf(parseJobCard("42"))).toMatch(/^job card: /);
  });
});

describe("computeBackoffMs", () => {
  it("doubles the cap per attempt with equal jitter", () => {
    const low = { baseMs: 1000, maxMs: 60_000, random: () => 0 };
    const high = { baseMs: 1000, maxMs: 60_000, random: () => 0.999_999 };

    expect(computeBackoffMs(1, low)).toBe(500);
    expect(computeBackoffMs(1, high)).toBe(1000);
    expect(computeBackoffMs(3, low)).toBe(2000);
    expect(computeBackoffMs(3, high)).toBe(4000);
  });

  it("stays within the cap for large attempts", () => {
    const options = { baseMs: 1000, maxMs: 300_000, random: () => 0.999_999 };
    expect(computeBackoffMs(30, options)).toBe(300_000);
    expect(computeBackoffMs(10_000, options)).toBe(300_000);
  });

  it("lets full jitter go down to zero", () => {
    expect(computeBackoffMs(4, { jitter: "full", random: () => 0 })).toBe(0);
    expect(computeBackoffMs(4, { jitter: "full", random: () => 0.5 })).toBe(4000);
  });

  it("spreads delays between half the cap and the cap by default", () => {
    const delays = Array.from({ length: 200 }, () => computeBackoffMs(2, { baseMs: 100 }));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...delays)).toBeLessThanOrEqual(200);
    expect(new Set(delays).size).toBeGreaterThan(1);
  });

  it.each([0, -1, 1.5, Number.NaN])("rejects attempt %s", (attempt) => {
    expect(() => computeBackoffMs(attempt)).toThrow(ValidationError);
  });

  it("rejects maxMs below baseMs", () => {
    expect(() => computeBackoffMs(1, { baseMs: 100, maxMs: 10 })).toThrow(/maxMs at least baseMs/);
  });
});

describe("assertPayloadSize", () => {
  it("returns the size in UTF-8 bytes", () => {
    expect(assertPayloadSize({ a: "é" }, 100)).toBe(Buffer.byteLength('{"a":"é"}'));
  });

  it("throws PAYLOAD_TOO_LARGE with the size, the limit and the fix", () => {
    let caught: unknown;
    try {
      assertPayloadSize({ blob: "x".repeat(2000) }, 1024, { task: "catalog.import", tenantId: "tenant-a" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BridgeError);
    const error = caught as BridgeError;
    expect(error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(error.tenantId).toBe("tenant-a");
    expect(error.message).toContain('task "catalog.import"');
    expect(error.message).toContain("2011 bytes");
    expect(error.message).toContain("limit of 1024 bytes");
    expect(error.message).toContain("put its id in the payload");
    expect(error.details).toMatchObject({ bytes: 2011, maxBytes: 1024 });
  });

  it("counts multi-byte characters as bytes", () => {
    // Four characters, twelve bytes of UTF-8, fourteen with the JSON quotes.
    expect(() => assertPayloadSize("日本語版", 13)).toThrow(/14 bytes/);
  });

  it("rejects payloads JSON cannot hold", () => {
    const circular: Record<string, unknown> = {};
    circular["self"] = circular;
    expect(() => assertPayloadSize(circular, 1000)).toThrow(ValidationError);
    expect(() => assertPayloadSize(10n, 1000)).toThrow(/cannot be serialized/);
    expect(() => assertPayloadSize(() => 1, 1000)).toThrow(/function, which JSON cannot represent/);
  });
});

describe("failure decisions", () => {
  it("retries while attempts remain", () => {
    expect(decideFailure(card({ attempts: 1, maxAttempts: 3 }), new Error("boom"))).toEqual({ action: "retry" });
  });

  it("dead-letters on the last attempt", () => {
    expect(decideFailure(card({ attempts: 3, maxAttempts: 3 }), new Error("boom"))).toEqual({ action: "dead", reason: "max-attempts" });
  });

  it("dead-letters a non-retryable failure at once", () => {
    expect(decideFailure(card({ attempts: 1 }), new Error("bad"), { retryable: false })).toEqual({
      action: "dead",
      reason: "non-retryable",
    });
  });

  it("names a final timeout as handler-timeout", () => {
    const job = card({ attempts: 3, maxAttempts: 3 });
    expect(decideFailure(job, createHandlerTimeoutError(job))).toEqual({ action: "dead", reason: "handler-timeout" });
  });

  it("treats invalid input as permanent", () => {
    expect(isRetryableJobError(new ValidationError("bad sku"))).toBe(false);
    expect(isRetryableJobError(new BridgeError("not found", { code: "NOT_FOUND" }))).toBe(true);
    expect(isRetryableJobError(new Error("socket hang up"))).toBe(true);
    expect(isRetryableJobError("a string")).toBe(true);
  });

  it("validates fail options", () => {
    expect(() => validateFailOptions({ delayMs: -5 })).toThrow(/delayMs -5/);
    expect(() => validateFailOptions({ retryable: "no" as unknown as boolean })).toThrow(/retryable "no"/);
    expect(validateFailOptions({ delayMs: 0, retryable: true })).toEqual({ delayMs: 0, retryable: true });
  });
});
