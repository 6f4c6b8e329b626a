import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryLogSink } from "../src/embedded/log-sink.js";
import { isBridgeError, UnavailableError, ValidationError } from "../src/errors.js";
import { createLogs, isSecretKey, REDACTED, redactFields } from "../src/logs.js";
import type { LogEntry, LogSink, LogsRole } from "../src/roles/logs.js";
import { runWithTenant } from "../src/tenant.js";

const opened: LogsRole[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(opened.splice(0).map((logs) => logs.close()));
});

function quietSink(capacity = 1000) {
  return createMemoryLogSink({ capacity, stderr: false });
}

/** Creates a sink that stores what it receives and fails while `down` is true. */
function flakySink(name = "remote") {
  const received: LogEntry[] = [];
  const state = { down: false, writes: 0 };
  const sink: LogSink = {
    name,
    capabilities: { query: false, subscribe: false, persistent: true },
    async write(entries) {
      state.writes += 1;
      if (state.down) throw new UnavailableError(`${name} is unreachable`);
      received.push(...entries);
    },
  };
  return { sink, received, state };
}

function open(options: Parameters<typeof createLogs>[0]): LogsRole {
  const logs = createLogs(options);
  opened.push(logs);
  return logs;
}

describe("memory log sink", () => {
  function entry(overrides: Partial<LogEntry>): LogEntry {
    return { id: crypto.randomUUID(), timestamp: "2025-03-01T10:00:00.000Z", level: "info", message: "hello", ...overrides };
  }

  it("returns newest entries first within the limit", async () => {
    const sink = quietSink();
    await sink.write([entry({ message: "one" }), entry({ message: "two" }), entry({ message: "three" })]);

    const result = await sink.query!({ limit: 2 });
    expect(result.map((e) => e.message)).toEqual(["three", "two"]);
  });

  it("overwrites the oldest entries when full", async () => {
    const sink = quietSink(3);
    await sink.write(["a", "b", "c", "d", "e"].map((message) => entry({ message })));

    expect(sink.size).toBe(3);
    expect((await sink.query!({})).map((e) => e.message)).toEqual(["e", "d", "c"]);
  });

  it("filters by level, time, text, worker and tenant", async () => {
    const sink = quietSink();
    await sink.write([
      entry({ message: "Stock sync started", level: "info", timestamp: "2025-03-01T10:00:00.000Z", tenantId: "t-1", workerId: "w-1" }),
      entry({ message: "SKU lookup failed", level: "error", timestamp: "2025-03-01T10:05:00.000Z", tenantId: "t-1", workerId: "w-2" }),
      entry({ message: "Price list loaded", level: "debug", timestamp: "2025-03-01T10:10:00.000Z", tenantId: "t-2", workerId: "w-1" }),
      entry({ message: "Order confirmed", level: "warn", timestamp: "2025-03-01T10:15:00.000Z", tenantId: "t-2", workerId: "w-2" }),
    ]);
    const messages = async (query: Parameters<NonNullable<LogSink["query"]>>[0]) => (await sink.query!(query)).map((e) => e.message);

    expect(await messages({ levels: ["debug", "error"] })).toEqual(["Price list loaded", "SKU lookup failed"]);
    expect(await messages({ minLevel: "warn" })).toEqual(["Order confirmed", "SKU lookup failed"]);
    expect(await messages({ from: "2025-03-01T10:05:00.000Z", to: new Date("2025-03-01T10:10:00.000Z") })).toEqual([
      "Price list loaded",
      "SKU lookup failed",
    ]);
    expect(await messages({ text: "sku" })).toEqual(["SKU lookup failed"]);
    expect(await messages({ workerId: "w-1" })).toEqual(["Price list loaded", "Stock sync started"]);
    expect(await messages({ tenantId: "t-2", minLevel: "info" })).toEqual(["Order confirmed"]);
  });

  it("rejects invalid queries", async () => {
    const sink = quietSink();
    await expect(sink.query!({ limit: 0 })).rejects.toThrow(/limit 0/);
    await expect(sink.query!({ from: "not a date" })).rejects.toThrow(/Invalid time "not a date"/);
    await expect(sink.query!({ minLevel: "loud" as never })).rejects.toThrow(/Invalid log level "loud"/);
    expect(() => createMemoryLogSink({ capacity: 0 })).toThrow(ValidationError);
  });

  it("drops entries below its minimum level", async () => {
    const sink = createMemoryLogSink({ stderr: false, minLevel: "warn" });
    await sink.write([entry({ level: "info" }), entry({ level: "error" })]);
    expect(sink.size).toBe(1);
  });

  it("prints one JSON line per entry", async () => {
    const lines: string[] = [];
    const sink = createMemoryLogSink({ writeLine: (line) => lines.push(line) });
    await sink.write([entry({ message: "one" }), entry({ message: "two" })]);

    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ message: "one", level: "info" });
  });

  it("streams to subscribers, with a backlog from a time", async () => {
    const sink = quietSink();
    await sink.write([
      entry({ message: "old", timestamp: "2025-03-01T09:00:00.000Z" }),
      entry({ message: "recent", timestamp: "2025-03-01T10:00:00.000Z" }),
    ]);
    const received: string[] = [];
    const subscription = await sink.subscribe!((e) => received.push(e.message), {
      from: "2025-03-01T09:30:00.000Z",
      levels: ["info", "error"],
    });

    await sink.write([entry({ message: "live" }), entry({ message: "debug noise", level: "debug" })]);
    await subscription.close();
    await sink.write([entry({ message: "after close" })]);

    expect(received).toEqual(["recent", "live"]);
  });

  it("survives a throwing subscriber", async () => {
    const lines: string[] = [];
    const sink = createMemoryLogSink({ stderr: false, writeLine: (line) => lines.push(line) });
    await sink.subscribe!(() => {
      throw new Error("subscriber bug");
    });

    await sink.write([entry({}), entry({})]);
    expect(sink.size).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("subscriber bug");
  });
});

describe("logs facade", () => {
  it("builds entries from the context", async () => {
    const sink = quietSink();
    const logs = open({ sinks: [sink], source: "reference-app" });

    runWithTenant({ tenantId: "tenant-a", correlationId: "req-1" }, () => logs.info("Order confirmed", { engagementId: "e-1" }));
    await logs.flush();

    const [entry] = await sink.query!({});
    expect(entry).toMatchObject({
      level: "info",
      message: "Order confirmed",
      tenantId: "tenant-a",
      correlationId: "req-1",
      source: "reference-app",
      fields: { engagementId: "e-1" },
    });
    expect(entry?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(entry?.timestamp ?? ""))).toBe(false);
  });

  it("drops entries below the minimum level", async () => {
    const sink = quietSink();
    const logs = open({ sinks: [sink], minLevel: "warn" });
    logs.info("hidden");
    logs.warn("shown");
    await logs.flush();

    expect((await sink.query!({})).map((e) => e.message)).toEqual(["shown"]);
  });

  it("serializes err into the entry", async () => {
    const sink = quietSink();
    const logs = open({ sinks: [sink] });
    logs.error("Payment capture failed", {
      err: new UnavailableError("gateway down", { details: { apiKey: "sk_live_123", gateway: "stripe" } }),
    });
    await logs.flush();

    const [entry] = await sink.query!({});
    expect(entry?.fields).toBeUndefined();
    expect(entry?.error).toMatchObject({ name: "UnavailableError", code: "UNAVAILABLE", message: "gateway down" });
    expect(entry?.error?.details).toEqual({ apiKey: REDACTED, gateway: "stripe" });
  });

  it("adds child bindings to every entry", async () => {
    const sink = quietSink();
    const logs = open({ sinks: [sink], source: "app" });
    const child = logs.child({ source: "worker", workerId: "w-1", task: "inventory.sync" }).child({ jobId: "j-1" });

    child.warn("Job retried", { attempt: 2 });
    await logs.flush();

    const [entry] = await sink.query!({});
    expect(entry).toMatchObject({ source: "worker", workerId: "w-1", fields: { task: "inventory.sync", jobId: "j-1", attempt: 2 } });
  });

  it("writes a full batch at once and a partial one on the interval", async () => {
    vi.useFakeTimers();
    const { sink, received, state } = flakySink();
    const logs = open({ sinks: [sink], batchSize: 3, flushIntervalMs: 1000 });

    logs.info("1");
    logs.info("2");
    await vi.advanceTimersByTimeAsync(0);
    expect(received).toHaveLength(0);
    logs.info("3");
    await vi.advanceTimersByTimeAsync(0);
    expect(received.map((e) => e.message)).toEqual(["1", "2", "3"]);
    expect(state.writes).toBe(1);

    logs.info("4");
    await vi.advanceTimersByTimeAsync(999);
    expect(received).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(received.map((e) => e.message)).toEqual(["1", "2", "3", "4"]);
  });

  it("fans each batch out to every sink", async () => {
    const first = flakySink("first");
    const second = flakySink("second");
    const logs = open({ sinks: [first.sink, second.sink] });

    logs.info("Order confirmed");
    await logs.flush();

    expect(first.received.map((e) => e.message)).toEqual(["Order confirmed"]);
    expect(second.received.map((e) => e.message)).toEqual(["Order confirmed"]);
    expect(first.received[0]?.id).toBe(second.received[0]?.id);
  });

  it("sends entries to the fallback while a sink fails and re-sends them later", async () => {
    const remote = flakySink();
    const healthy = flakySink("healthy");
    const fallback = quietSink();
    const logs = open({ sinks: [remote.sink, healthy.sink], fallback });

    remote.state.down = true;
    logs.info("during outage 1");
    logs.info("during outage 2");
    await logs.flush();

    const inFallback = (await fallback.query!({ limit: 100 })).map((e) => e.message);
    expect(inFallback).toEqual(["during outage 2", "during outage 1"]);
    expect(healthy.received.map((e) => e.message)).toEqual(["during outage 1", "during outage 2"]);
    expect(remote.received).toEqual([]);

    logs.info("still down");
    await logs.flush();
    // The warning about the failure is logged once, in the next batch.
    const warnings = healthy.received.filter((e) => e.level === "warn" && e.message.includes('Log sink "remote" failed'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.fields?.["err"]).toBeUndefined();

    remote.state.down = false;
    logs.info("after recovery");
    await logs.flush();

    const messages = remote.received.map((e) => e.message);
    expect(messages.slice(0, 2)).toEqual(["during outage 1", "during outage 2"]);
    expect(messages).toContain("still down");
    expect(messages.at(-1)).toBe("after recovery");
    await logs.flush();
    expect(remote.received.some((e) => e.message.includes('Log sink "remote" recovered; re-sent'))).toBe(true);
  });

  it("counts and reports entries dropped beyond the re-send buffer", async () => {
    const remote = flakySink();
    const fallback = quietSink();
    const logs = open({ sinks: [remote.sink], fallback, maxPendingPerSink: 5 });

    remote.state.down = true;
    for (let index = 0; index < 8; index += 1) {
      logs.info(`entry ${index}`);
    }
    await logs.flush();
    await logs.flush();

    const warning = (await fallback.query!({ text: "lost" }))[0];
    expect(warning?.level).toBe("warn");
    expect(warning?.fields).toMatchObject({ sink: "remote", maxPendingPerSink: 5 });
    expect(warning?.fields?.["dropped"]).toBeGreaterThanOrEqual(3);

    remote.state.down = false;
    await logs.flush();
    expect(remote.received).toHaveLength(5);
    expect(remote.received[0]?.message).not.toBe("entry 0");
  });

  it("treats a hanging sink as failed", async () => {
    vi.useFakeTimers();
    const fallback = quietSink();
    const hanging: LogSink = {
      name: "hanging",
      capabilities: { query: false, subscribe: false, persistent: true },
      write: () => new Promise(() => undefined),
    };
    const logs = open({ sinks: [hanging], fallback, writeTimeoutMs: 500 });

    logs.info("waiting");
    const flushed = logs.flush();
    await vi.advanceTimersByTimeAsync(500);
    await flushed;

    expect((await fallback.query!({})).map((e) => e.message)).toContain("waiting");
  });

  it("routes query and subscribe to the first capable sink", async () => {
    const remote = flakySink();
    const memory = quietSink();
    const logs = open({ sinks: [remote.sink, memory] });
    const streamed: string[] = [];
    await logs.subscribe((entry) => streamed.push(entry.message));

    logs.info("Stock reserved");
    const result = await logs.query({ text: "stock" });

    expect(result.map((e) => e.message)).toEqual(["Stock reserved"]);
    expect(streamed).toEqual(["Stock reserved"]);
    expect(logs.capabilities).toEqual({ query: true, subscribe: true, persistent: true });
  });

  it("reports NOT_SUPPORTED when no sink can query", async () => {
    const logs = open({ sinks: [flakySink().sink] });

    const queryError = await logs.query({}).catch((error: unknown) => error);
    expect(isBridgeError(queryError, "NOT_SUPPORTED")).toBe(true);
    expect((queryError as Error).message).toContain('"remote"');
    await expect(logs.subscribe(() => undefined)).rejects.toMatchObject({ code: "NOT_SUPPORTED" });
  });

  it("never throws into the caller", async () => {
    const sink = quietSink();
    const logs = open({ sinks: [sink] });
    const hostile = {
      get total(): number {
        throw new Error("getter exploded");
      },
    };
    const circular: Record<string, unknown> = { name: "loop" };
    circular["self"] = circular;

    expect(() => logs.info("hostile", { hostile })).not.toThrow();
    expect(() => logs.info("circular", { circular })).not.toThrow();
    expect(() => logs.error("odd error", { err: Symbol("x") as unknown })).not.toThrow();
    await logs.flush();

    const entries = await sink.query!({});
    expect(entries.find((e) => e.message === "circular")?.fields).toEqual({ circular: { name: "loop", self: "[Circular]" } });
    expect(entries.find((e) => e.message === "hostile")?.fields).toEqual({ hostile: { total: "[Unreadable: getter exploded]" } });
    expect(entries.find((e) => e.message === "odd error")?.error?.message).toBe("Symbol(x)");
  });

  it("writes entries logged after close to the fallback", async () => {
    const remote = flakySink();
    const fallback = quietSink();
    const logs = createLogs({ sinks: [remote.sink], fallback });
    logs.info("before close");
    await logs.close();
    logs.info("after close");
    await new Promise((resolve) => setTimeout(resolve, 0));

    expect(remote.received.map((e) => e.message)).toEqual(["before close"]);
    expect((await fallback.query!({})).map((e) => e.message)).toEqual(["after close"]);
  });

  it("reports a sink still failing at close", async () => {
    const remote = flakySink();
    const fallback = quietSink();
    const logs = createLogs({ sinks: [remote.sink], fallback });
    remote.state.down = true;

    logs.info("last words");
    await logs.close();

    const messages = (await fallback.query!({})).map((e) => e.message);
    expect(messages).toContain("last words");
    expect(messages.some((message) => message.includes('Log sink "remote" failed to write 1 entries'))).toBe(true);
    expect(messages.some((message) => message.includes("was still failing at close"))).toBe(true);
  });

  it("rejects invalid options", () => {
    expect(() => createLogs({ sinks: [], batchSize: 0 })).toThrow(/batchSize must be an integer of 1 or more \(got 0\)/);
    expect(() => createLogs({ sinks: [], redactPaths: ["customer..email"] })).toThrow(/redactPaths entry "customer..email"/);
    expect(() => createLogs({ sinks: [], minLevel: "loud" as never })).toThrow(/minLevel/);
  });
});

describe("redaction", () => {
  it("redacts configured paths with wildcards", async () => {
    const sink = quietSink();
    const logs = open({ sinks: [sink], redactPaths: ["customer.email", "lines.*.note", "*.cardNumber"] });

    logs.info("Order placed", {
      customer: { email: "ana@example.com", name: "Ana" },
      lines: [
        { sku: "SKU-1", note: "leave at door" },
        { sku: "SKU-2", note: "gift" },
      ],
      payment: { cardNumber: "4111111111111111", brand: "visa" },
    });
    await logs.flush();

    const [entry] = await sink.query!({});
    expect(entry?.fields).toEqual({
      customer: { email: REDACTED, name: "Ana" },
      lines: [
        { sku: "SKU-1", note: REDACTED },
        { sku: "SKU-2", note: REDACTED },
      ],
      payment: { cardNumber: REDACTED, brand: "visa" },
    });
  });

  it("redacts secret-looking keys at any depth", () => {
    const result = redactFields({
      password: "hunter2",
      request: { headers: { Authorization: "Bearer abc", Cookie: "sid=1", "x-api-key": "k", accept: "json" } },
      config: { clientSecret: "s", access_token: "t", privateKey: "pk", API_KEY: "ak", port: 443 },
      usage: { total_tokens: 1200, tokenizer: "cl100k" },
    });

    expect(result).toEqual({
      password: REDACTED,
      request: { headers: { Authorization: REDACTED, Cookie: REDACTED, "x-api-key": REDACTED, accept: "json" } },
      config: { clientSecret: REDACTED, access_token: REDACTED, privateKey: REDACTED, API_KEY: REDACTED, port: 443 },
      usage: { total_tokens: 1200, tokenizer: "cl100k" },
    });
  });

  it.each([
    ["password", true],
    ["userPassword", true],
    ["apiKey", true],
    ["APIKey", true],
    ["refreshToken", true],
    ["set-cookie", true],
    ["sessionId", true],
    ["credentials", true],
    ["keyboard", false],
    ["tokens", false],
    ["secretary", false],
    ["sku", false],
  ])("isSecretKey(%j) is %s", (key, expected) => {
    expect(isSecretKey(key)).toBe(expected);
  });

  it("makes values JSON-safe", () => {
    const result = redactFields({
      at: new Date("2025-03-01T10:00:00.000Z"),
      count: 10n,
      bytes: new Uint8Array(16),
      cause: new Error("inner"),
      tags: new Set(["a", "b"]),
      callback: () => undefined,
      list: [undefined, 1],
    });

    expect(result).toMatchObject({
      at: "2025-03-01T10:00:00.000Z",
      count: "10",
      bytes: "[16 bytes]",
      cause: { name: "Error", message: "inner" },
      tags: ["a", "b"],
      list: [null, 1],
    });
    expect(result).not.toHaveProperty("callback");
  });

  it("does not change the caller's object", async () => {
    const sink = quietSink();
    const logs = open({ sinks: [sink] });
    const fields = { password: "hunter2" };
    logs.info("login", fields);
    await logs.flush();

    expect(fields.password).toBe("hunter2");
  });
});
