import { describe, expect, it } from "vitest";
import { ValidationError } from "@bridge/core";
import { conformanceTitle, describeConformance, eventually, expectBridgeError, newNamespace, parseConformanceTitle, resolveTimeouts } from "../src/harness.js";

describe("conformance titles", () => {
  it("round trip through the parser", () => {
    const title = conformanceTitle("queue", "rabbitmq");
    expect(title).toBe("conformance[queue] provider=rabbitmq");
    expect(parseConformanceTitle(title)).toEqual({ role: "queue", provider: "rabbitmq" });
    expect(parseConformanceTitle("queue suite")).toBeNull();
  });

  it("reject a provider name with spaces", () => {
    expect(() => conformanceTitle("queue", "my queue")).toThrow(/Invalid provider name "my queue"/);
  });
});

describe("resolveTimeouts", () => {
  it("defaults leave room for the wait", () => {
    expect(resolveTimeouts({})).toEqual({ timeoutMs: 5_000, caseTimeoutMs: 30_000 });
    expect(resolveTimeouts({ timeoutMs: 10_000 })).toEqual({ timeoutMs: 10_000, caseTimeoutMs: 60_000 });
    expect(resolveTimeouts({ timeoutMs: 1_000, caseTimeoutMs: 4_000 })).toEqual({ timeoutMs: 1_000, caseTimeoutMs: 4_000 });
  });

  it("rejects a case limit within the wait", () => {
    expect(() => resolveTimeouts({ timeoutMs: 5_000, caseTimeoutMs: 5_000 })).toThrow(/Invalid caseTimeoutMs 5000: it must be larger than timeoutMs 5000/);
  });

  it("rejects non-positive values", () => {
    expect(() => resolveTimeouts({ timeoutMs: 0 })).toThrow(/Invalid timeoutMs 0/);
    expect(() => resolveTimeouts({ caseTimeoutMs: Number.NaN })).toThrow(/Invalid caseTimeoutMs NaN/);
  });
});

// The kit's own config sets testTimeout 20 000; the suite's limit must replace it.
describeConformance(
  { role: "queue", provider: "timeout-probe", capabilities: {} },
  () => {
    it("case gets the suite limit", ({ task }) => {
      expect(task.timeout).toBe(12_345);
    });
  },
  { caseTimeoutMs: 12_345 },
);

describeConformance({ role: "logs", provider: "timeout-probe", capabilities: {} }, () => {
  it("default limit is 30 s", ({ task }) => {
    expect(task.timeout).toBe(30_000);
  });
});

describe("newNamespace", () => {
  it("is unique and name-safe", () => {
    const namespaces = new Set(Array.from({ length: 100 }, () => newNamespace()));
    expect(namespaces.size).toBe(100);
    for (const namespace of namespaces) expect(namespace).toMatch(/^kt[0-9a-f]{8}$/);
  });
});

describe("eventually", () => {
  it("returns once the check passes", async () => {
    let calls = 0;
    const value = await eventually(() => {
      calls += 1;
      if (calls < 3) throw new Error(`not yet (${calls})`);
      return "ready";
    }, { intervalMs: 1 });
    expect(value).toBe("ready");
    expect(calls).toBe(3);
  });

  it("rethrows the last failure", async () => {
    await expect(eventually(() => expect(1).toBe(2), { timeoutMs: 50, intervalMs: 5 })).rejects.toThrow(/expected 1 to be 2/);
  });
});

describe("expectBridgeError", () => {
  it("accepts the expected code", async () => {
    const error = await expectBridgeError(Promise.reject(new ValidationError("Invalid priority 11: use 1 to 10")), "VALIDATION_FAILED", ["11"]);
    expect(error.code).toBe("VALIDATION_FAILED");
  });

  it("fails on a resolved call", async () => {
    await expect(expectBridgeError(Promise.resolve(42), "NOT_FOUND")).rejects.toThrow(/resolved with 42/);
  });

  it("fails on a plain error", async () => {
    await expect(expectBridgeError(Promise.reject(new TypeError("x is undefined")), "NOT_FOUND")).rejects.toThrow(/TypeError: x is undefined/);
  });

  it("fails when the message omits the value", async () => {
    await expect(
      expectBridgeError(Promise.reject(new ValidationError("Invalid priority")), "VALIDATION_FAILED", ["11"]),
    ).rejects.toThrow(/must name the value/);
  });
});
