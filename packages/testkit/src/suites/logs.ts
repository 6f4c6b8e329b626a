import {
  createLogs,
  LOG_LEVELS,
  runWithTenant,
  ValidationError,
  type LogEntry,
  type LogQuery,
  type LogSink,
  type LogSinkCapabilities,
  type LogsRole,
} from "@bridge/core";
import { afterEach, expect, it } from "vitest";
import { describeConformance, eventually, expectBridgeError, InstanceTracker, newNamespace, resolveTimeouts, sleep, type CaseTimeoutOptions } from "../harness.js";

export interface LogsInstance {
  /** The provider's sink. The kit wraps it in core's `createLogs` facade, as the registry does. */
  sink: LogSink;
  /** Deletes what the instance created (collection, topic, queue) and closes the sink. */
  cleanup?: () => Promise<void>;
}

export interface LogsSuiteOptions extends CaseTimeoutOptions {
  /** One word that names the provider in test titles and in the conformance report. */
  provider: string;
  capabilities: LogSinkCapabilities;
  /** Creates a sink whose storage is isolated by `namespace`. */
  create: (namespace: string) => Promise<LogsInstance>;
  /** Maximum wait for stored entries to show up in a query or subscription, in ms; 5000 when absent. */
  timeoutMs?: number;
}

/** Paths the facade must redact in addition to the secret-looking keys it always redacts. */
const REDACT_PATHS = ["customer.email", "card.*"];
const BATCH_SIZE = 20;

interface Running {
  instance: LogsInstance;
  logs: LogsRole;
  fallbackWrites: LogEntry[][];
}

/** Wraps the provider's sink (if any) in one that records every write call before passing it on. */
function recordingSink(name: string, sink?: LogSink): { sink: LogSink; writes: LogEntry[][] } {
  const writes: LogEntry[][] = [];
  const recording: LogSink = {
    name,
    capabilities: sink?.capabilities ?? { query: false, subscribe: false, persistent: false },
    async write(entries) {
      writes.push(structuredClone(entries));
      await sink?.write(entries);
    },
    ...(sink?.query ? { query: (query: LogQuery) => sink.query!(query) } : {}),
    ...(sink?.subscribe ? { subscribe: sink.subscribe.bind(sink) } : {}),
    ...(sink?.flush ? { flush: () => sink.flush!() } : {}),
  };
  return { sink: recording, writes };
}

/** Registers the logs conformance cases. Call it at the top level of a vitest test file. */
export function runLogsSuite(options: LogsSuiteOptions): void {
  const declared = options.capabilities;
  const { timeoutMs, caseTimeoutMs } = resolveTimeouts(options);
  const tracker = new InstanceTracker<Running>();

  async function start() {
    const namespace = newNamespace();
    const instance = await options.create(namespace);
    const recording = recordingSink(instance.sink.name, instance.sink);
    // The facade sends a batch to the fallback only when the provider's sink failed to write it.
    const fallback = recordingSink("kit-fallback");
    const logs = createLogs({
      sinks: [recording.sink],
      fallback: fallback.sink,
      redactPaths: REDACT_PATHS,
      batchSize: BATCH_SIZE,
      // Long enough that only a full batch or an explicit flush writes during a case.
      flushIntervalMs: 60_000,
      minLevel: "trace",
    });
    tracker.track({ instance, logs, fallbackWrites: fallback.writes });

    const written = () => recording.writes.flat();
    async function flushAll(): Promise<void> {
      await logs.flush();
      await instance.sink.flush?.();
    }
    return { ...instance, logs, namespace, writes: recording.writes, written, flushAll };
  }

  describeConformance({ role: "logs", provider: options.provider, capabilities: declared }, () => {
    afterEach(async () => {
      for (const { instance, logs, fallbackWrites } of tracker.drain()) {
        await logs.close();
        await instance.sink.close?.();
        await instance.cleanup?.();
        expect(fallbackWrites.flat().map((entry) => entry.message), "entries the provider's sink failed to write").toEqual([]);
      }
    });

    it("declares its capabilities", async () => {
      const { sink, logs } = await start();
      expect(sink.capabilities, "sink.capabilities must equal what the provider declares to the kit").toEqual(declared);
      expect(logs.capabilities).toEqual(declared);
      expect(typeof sink.query === "function", "a sink that declares query must implement query()").toBe(declared.query);
      expect(typeof sink.subscribe === "function", "a sink that declares subscribe must implement subscribe()").toBe(declared.subscribe);
    });

    it("every level reaches the sink", async () => {
      const { logs, written, flushAll } = await start();
      for (const level of LOG_LEVELS) logs[level](`${level} entry`);
      await flushAll();

      const entries = written();
      expect(entries.map((entry) => entry.level)).toEqual([...LOG_LEVELS]);
      expect(entries.map((entry) => entry.message)).toEqual(LOG_LEVELS.map((level) => `${level} entry`));
      for (const entry of entries) {
        expect(entry.id).toMatch(/\S/);
        expect(Number.isNaN(Date.parse(entry.timestamp))).toBe(false);
      }
    });

    it("entries carry tenant and fields", async () => {
      const { logs, written, flushAll, namespace } = await start();
      const tenant = `${namespace}-a`;
      runWithTenant({ tenantId: tenant, correlationId: "corr-42" }, () => {
        logs.info("order placed", { engagementId: "eng-1", lines: 3, total: { amountMinor: 4999, currency: "USD" } });
        logs.child({ source: "checkout", workerId: "worker-7", region: "eu-west" }).warn("slow payment gateway", { latencyMs: 2300 });
      });
      await flushAll();

      const [placed, slow] = written();
      expect(placed).toMatchObject({
        level: "info",
        message: "order placed",
        tenantId: tenant,
        correlationId: "corr-42",
        fields: { engagementId: "eng-1", lines: 3, total: { amountMinor: 4999, currency: "USD" } },
      });
      expect(slow).toMatchObject({ source: "checkout", workerId: "worker-7", tenantId: tenant, fields: { region: "eu-west", latencyMs: 2300 } });
    });

    it("errors are serialised", async () => {
      const { logs, written, flushAll } = await start();
      logs.error("payment failed", { err: new ValidationError("Invalid card number 4111: expected 16 digits.") });
      logs.fatal("worker crashed", { err: "plain string thrown" });
      await flushAll();

      const [payment, crash] = written();
      expect(payment?.error).toMatchObject({ name: "ValidationError", code: "VALIDATION_FAILED", message: "Invalid card number 4111: expected 16 digits." });
      expect(typeof payment?.error?.stack).toBe("string");
      expect(payment?.fields?.err, "the error goes to entry.error, not into fields").toBeUndefined();
      expect(crash?.error?.message).toBe("plain string thrown");
    });

    it("configured paths are redacted", async () => {
      const { logs, written, flushAll } = await start();
      logs.info("checkout", {
        customer: { email: "ada@example.com", name: "Ada Lovelace" },
        card: { number: "4111111111111111", expiry: "12/30" },
        password: "hunter2",
        apiKey: "key-0123456789",
      });
      await flushAll();

      const text = JSON.stringify(written());
      for (const secret of ["ada@example.com", "4111111111111111", "12/30", "hunter2", "key-0123456789"]) {
        expect(text, `the sink received ${secret}`).not.toContain(secret);
      }
      expect(text, "fields outside the redacted paths stay").toContain("Ada Lovelace");
    });

    it("writes are batched", async () => {
      const { logs, writes, written, flushAll } = await start();
      for (let n = 0; n < 50; n++) logs.info(`entry ${n}`, { n });
      await flushAll();

      expect(written().map((entry) => entry.fields?.n)).toEqual(Array.from({ length: 50 }, (_, n) => n));
      expect(writes.length, "sink write calls for 50 entries in batches of 20").toBeLessThanOrEqual(3);
    });

    it("flush writes a partial batch", async () => {
      const { logs, written, flushAll } = await start();
      logs.info("single entry");
      expect(written(), "a partial batch waits for flush").toEqual([]);
      await flushAll();
      expect(written().map((entry) => entry.message)).toEqual(["single entry"]);
    });

    it("empty write is accepted", async () => {
      const { sink } = await start();
      await expect(sink.write([])).resolves.toBeUndefined();
    });

    it.runIf(declared.query)("query filters stored entries", async () => {
      const { logs, flushAll, namespace } = await start();
      const [tenantA, tenantB] = [`${namespace}-a`, `${namespace}-b`];
      runWithTenant(tenantA, () => {
        logs.info("order placed");
        logs.warn("PAYMENT retry", { attempt: 2 });
        logs.child({ workerId: "worker-7" }).error("payment failed");
      });
      runWithTenant(tenantB, () => logs.error("other tenant failure"));
      await flushAll();

      const messages = async (query: LogQuery) => (await logs.query(query)).map((entry) => entry.message).sort();
      await eventually(async () => {
        expect(await messages({ tenantId: tenantA })).toEqual(["PAYMENT retry", "order placed", "payment failed"]);
      }, { timeoutMs });
      expect(await messages({ tenantId: tenantA, minLevel: "warn" })).toEqual(["PAYMENT retry", "payment failed"]);
      expect(await messages({ tenantId: tenantA, levels: ["info"] })).toEqual(["order placed"]);
      expect(await messages({ tenantId: tenantA, text: "payment" }), "text matches case-insensitively").toEqual(["PAYMENT retry", "payment failed"]);
      expect(await messages({ workerId: "worker-7" })).toEqual(["payment failed"]);
      expect(await messages({ tenantId: tenantB })).toEqual(["other tenant failure"]);
      expect((await logs.query({ tenantId: tenantA, limit: 2 })).length).toBeLessThanOrEqual(2);
      expect(await logs.query({ tenantId: tenantA, from: new Date(Date.now() + 3_600_000) })).toEqual([]);
    });

    it.runIf(declared.query)("invalid query is rejected", async () => {
      const { sink } = await start();
      await expectBridgeError(sink.query!({ minLevel: "loud" as never }), "VALIDATION_FAILED", ["loud"]);
      await expectBridgeError(sink.query!({ limit: -1 }), "VALIDATION_FAILED", ["-1"]);
    });

    it.runIf(declared.subscribe)("subscribe streams new entries", async () => {
      const { logs, flushAll } = await start();
      const received: LogEntry[] = [];
      const subscription = await logs.subscribe((entry) => received.push(entry), { levels: ["error"] });

      logs.info("routine");
      logs.error("disk full", { volume: "/var" });
      await flushAll();
      await eventually(() => expect(received.map((entry) => entry.message)).toEqual(["disk full"]), { timeoutMs });

      await subscription.close();
      logs.error("after close");
      await flushAll();
      await sleep(200);
      expect(received.map((entry) => entry.message)).toEqual(["disk full"]);
    });
  }, { caseTimeoutMs });
}
