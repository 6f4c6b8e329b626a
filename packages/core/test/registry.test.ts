import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  ConfigError,
  createBridge,
  embedded,
  isBridgeError,
  type Bridge,
  type HealthReport,
  type Integration,
  type LogEntry,
  type LogSink,
} from "../src/index.js";

function recordingSink(name: string): LogSink & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    name,
    entries,
    capabilities: { query: false, subscribe: false, persistent: false },
    async write(batch) {
      entries.push(...batch);
    },
  };
}

function fakeIntegration(name: string, overrides: Partial<Integration> = {}): Integration & { calls: string[] } {
  const calls: string[] = [];
  const sink = recordingSink(name);
  return {
    name,
    roles: ["logs"],
    modules: { logs: sink },
    calls,
    async start() {
      calls.push("start");
    },
    async health(): Promise<HealthReport> {
      return { status: "up" };
    },
    async stop() {
      calls.push("stop");
    },
    ...overrides,
  };
}

const outboxDir = () => mkdtempSync(join(tmpdir(), "bridge-registry-"));
let bridge: Bridge | undefined;

afterEach(async () => {
  await bridge?.stop({ drainMs: 100 });
  bridge = undefined;
});

describe("createBridge", () => {
  it("serves unassigned roles from the embedded provider", async () => {
    bridge = createBridge({ embedded: { outboxDir: outboxDir(), logs: { stderr: false } } });
    await bridge.start();

    expect(bridge.providers.queue).toEqual(["embedded"]);
    expect(bridge.providers.data).toEqual(["embedded"]);
    expect(bridge.providers.ai).toEqual([]);
    const job = await bridge.queue.publish("registry.test", { n: 1 });
    const leases = await bridge.queue.fetchBatch("registry.test", { max: 1 });
    expect(leases[0]?.job.id).toBe(job.id);
  });

  it("exposes provider modules by integration name", () => {
    const provider = embedded({ outboxDir: outboxDir(), logs: { stderr: false } });
    bridge = createBridge({ integrations: [provider] });
    expect(bridge.integrations.embedded?.queue).toBe(provider.modules.queue);
    expect(bridge.queue).toBe(provider.modules.queue);
  });

  it("fans logs out to every assigned sink", async () => {
    const first = fakeIntegration("first");
    const second = fakeIntegration("second");
    bridge = createBridge({
      integrations: [first, second],
      roles: { logs: ["first", "second"] },
      embedded: { outboxDir: outboxDir(), logs: { stderr: false } },
    });
    await bridge.start();
    bridge.logs.info("hello both", { orderId: "o-1" });
    await bridge.logs.flush();

    const firstSink = first.modules.logs as LogSink & { entries: LogEntry[] };
    const secondSink = second.modules.logs as LogSink & { entries: LogEntry[] };
    expect(firstSink.entries.map((e) => e.message)).toContain("hello both");
    expect(secondSink.entries.map((e) => e.message)).toContain("hello both");
  });

  it("rejects a role assigned to an unknown integration", () => {
    const attempt = () => createBridge({ roles: { queue: "rabbitmq", search: "opensearch" } });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const problems = (error as ConfigError).problems.map((p) => p.variable);
      expect(problems).toEqual(["roles.queue", "roles.search"]);
    }
  });

  it("rejects a role the integration does not provide", () => {
    expect(() => createBridge({ integrations: [fakeIntegration("logsonly")], roles: { queue: "logsonly" } })).toThrow(
      /does not provide the queue role/,
    );
  });

  it("rejects two integrations with one name", () => {
    expect(() => createBridge({ integrations: [fakeIntegration("twin"), fakeIntegration("twin")] })).toThrow(/share this name/);
  });

  it("fails calls on a role without provider with a typed error", async () => {
    bridge = createBridge({ embedded: { outboxDir: outboxDir(), logs: { stderr: false } } });
    let caught: unknown;
    try {
      await bridge.ai.engagementFromText("two boxes of pens");
    } catch (error) {
      caught = error;
    }
    expect(isBridgeError(caught, "ROLE_NOT_CONFIGURED")).toBe(true);
    expect((caught as Error).message).toContain("BRIDGE_AI");
  });

  it("starts and stops integrations in order", async () => {
    const provider = fakeIntegration("ordered");
    bridge = createBridge({ integrations: [provider], roles: { logs: "ordered" }, embedded: { outboxDir: outboxDir() } });
    await bridge.start();
    await bridge.stop({ drainMs: 100 });
    expect(provider.calls).toEqual(["start", "stop"]);
  });

  it("stops log sink integrations last", async () => {
    const sinkProvider = fakeIntegration("sinkdb");
    const sink = sinkProvider.modules.logs as LogSink & { entries: LogEntry[] };
    let sinkClosed = false;
    const realWrite = sink.write.bind(sink);
    sink.write = async (batch) => {
      if (sinkClosed) throw new Error("sink closed");
      await realWrite(batch);
    };
    sinkProvider.stop = async () => {
      sinkClosed = true;
    };
    let context: { logger: { info(message: string): void } } | undefined;
    const broker = fakeIntegration("broker", {
      roles: [],
      modules: {},
      async start(ctx) {
        context = ctx;
      },
      async stop() {
        context?.logger.info("broker disconnected");
      },
    });
    bridge = createBridge({ integrations: [sinkProvider, broker], roles: { logs: "sinkdb" }, embedded: { outboxDir: outboxDir(), logs: { stderr: false } } });
    await bridge.start();
    await bridge.stop({ drainMs: 100 });

    expect(sink.entries.map((entry) => entry.message)).toContain("broker disconnected");
  });

  it("stops already started integrations when one fails to start", async () => {
    const good = fakeIntegration("good");
    const bad = fakeIntegration("bad", {
      async start() {
        throw new Error("connection refused");
      },
    });
    bridge = createBridge({ integrations: [good, bad], roles: { logs: ["good", "bad"] }, embedded: { outboxDir: outboxDir(), logs: { stderr: false } } });
    await expect(bridge.start()).rejects.toThrow("connection refused");
    expect(good.calls).toEqual(["start", "stop"]);
    bridge = undefined;
  });
});

describe("health and readiness", () => {
  it("reports the worst integration status", async () => {
    const degraded = fakeIntegration("slow", {
      async health() {
        return { status: "degraded", detail: { reason: "outbox has 3 messages" } };
      },
    });
    bridge = createBridge({ integrations: [degraded], roles: { logs: "slow" }, embedded: { outboxDir: outboxDir(), logs: { stderr: false } } });
    await bridge.start();
    const health = await bridge.health();
    expect(health.status).toBe("degraded");
    expect(health.integrations.slow?.status).toBe("degraded");
    expect(health.integrations.embedded?.status).toBe("up");
  });

  it("marks a hanging health check down after the timeout", async () => {
    const hanging = fakeIntegration("hanging", { health: () => new Promise<HealthReport>(() => {}) });
    bridge = createBridge({
      integrations: [hanging],
      roles: { logs: "hanging" },
      healthTimeoutMs: 50,
      embedded: { outboxDir: outboxDir(), logs: { stderr: false } },
    });
    await bridge.start();
    const readiness = await bridge.readiness();
    expect(readiness.status).toBe(503);
    expect((await bridge.health()).integrations.hanging?.detail?.error).toMatch(/timed out/);
  });

  it("turns readiness false before the drain starts", async () => {
    let readinessDuringDrain: number | undefined;
    const local: { bridge?: Bridge } = {};
    const observer = fakeIntegration("observer", {
      async stop() {
        readinessDuringDrain = (await local.bridge!.readiness()).status;
      },
    });
    bridge = createBridge({ integrations: [observer], roles: { logs: "observer" }, embedded: { outboxDir: outboxDir(), logs: { stderr: false } } });
    local.bridge = bridge;
    await bridge.start();
    expect((await bridge.readiness()).status).toBe(200);
    await bridge.stop({ drainMs: 100 });
    expect(readinessDuringDrain).toBe(503);
    expect(bridge.liveness().status).toBe(503);
  });
});
