// Kafka-specific cases of the logs and notifications roles against the local
// broker: compression, subscribing from a time, groups across restarts of a
// subscriber, and entries too large for one record.
import { createLogs, runWithTenant, type LogEntry, type Notification } from "@bridge/core";
import { eventually, expectBridgeError, newNamespace, sleep } from "@bridge/testkit";
import { afterEach, expect, it } from "vitest";
import { kafka, type KafkaOptions } from "../src/index.js";
import { deleteNamespace, describeWithKafka, FAST, KAFKA_BROKERS, rawKafka, testLogger } from "./helpers.js";

describeWithKafka("kafka logs and notifications", () => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(namespace: string, extra: KafkaOptions = {}) {
    const integration = kafka({
      brokers: KAFKA_BROKERS,
      groupId: namespace,
      logsTopic: `${namespace}.logs`,
      notificationsTopic: `${namespace}.notifications`,
      ...FAST,
      ...extra,
    });
    await integration.start({ logger: testLogger().logger });
    cleanups.push(() => integration.stop({ deadlineMs: 1_000 }));
    return integration;
  }

  function cleanNamespace(namespace: string): void {
    cleanups.unshift(() => deleteNamespace(namespace));
  }

  for (const compression of ["gzip", "snappy"] as const) {
    it(`${compression} batches round trip`, async () => {
      const namespace = newNamespace();
      cleanNamespace(namespace);
      const integration = await setup(namespace, { compression });
      const sink = integration.modules.logs;
      const from = new Date(Date.now() - 1_000);
      const entries: LogEntry[] = Array.from({ length: 30 }, (_, n) => ({
        id: `entry-${n}`,
        timestamp: new Date().toISOString(),
        level: "info",
        message: `stock sync ${n} ${"repeated text compresses well ".repeat(10)}`,
        tenantId: `${namespace}-a`,
      }));
      await sink.write(entries);

      // A plain kafkajs consumer reads the compressed batches too.
      const consumer = rawKafka().consumer({ groupId: `${namespace}.raw`, maxWaitTimeInMs: 100 });
      const raw: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic: `${namespace}.logs`, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void raw.push(JSON.parse(String(message.value)).id) });
      try {
        await eventually(() => expect(raw.sort()).toEqual(entries.map((entry) => entry.id).sort()), { timeoutMs: 10_000 });
      } finally {
        await consumer.disconnect();
      }

      const received: string[] = [];
      await sink.subscribe!((entry) => received.push(entry.id), { from });
      await eventually(() => expect(received.sort()).toEqual(entries.map((entry) => entry.id).sort()), { timeoutMs: 10_000 });
    });
  }

  it("logs subscription from a time replays", async () => {
    const namespace = newNamespace();
    cleanNamespace(namespace);
    const integration = await setup(namespace);
    const logs = createLogs({ sinks: [integration.modules.logs], minLevel: "trace", flushIntervalMs: 60_000 });
    cleanups.push(() => logs.close());

    logs.info("before the mark");
    await logs.flush();
    await sleep(50);
    const mark = new Date();
    await sleep(50);
    runWithTenant(`${namespace}-a`, () => {
      logs.warn("payment retry", { attempt: 2 });
      logs.error("payment failed");
    });
    await logs.flush();

    const received: LogEntry[] = [];
    await logs.subscribe((entry) => received.push(entry), { from: mark, levels: ["error", "warn"] });
    await eventually(() => expect(received.map((entry) => entry.message).sort()).toEqual(["payment failed", "payment retry"]), { timeoutMs: 10_000 });
    expect(received.every((entry) => entry.tenantId === `${namespace}-a`)).toBe(true);
  });

  it("oversized log entry is trimmed, not lost", async () => {
    const namespace = newNamespace();
    cleanNamespace(namespace);
    const integration = await setup(namespace, { maxPayloadBytes: 4_000 });
    const sink = integration.modules.logs;
    const received: LogEntry[] = [];
    await sink.subscribe!((entry) => received.push(entry));

    await sink.write([
      { id: "big", timestamp: new Date().toISOString(), level: "info", message: "catalog import", fields: { payload: "x".repeat(10_000) } },
      { id: "small", timestamp: new Date().toISOString(), level: "info", message: "done" },
    ]);
    // Entries without a tenant have no key, so they may land on different partitions and arrive in either order.
    await eventually(() => expect(received.map((entry) => entry.id).sort()).toEqual(["big", "small"]), { timeoutMs: 10_000 });
    const big = received.find((entry) => entry.id === "big");
    expect(big?.message).toBe("catalog import");
    expect(String(big?.fields?.["truncated"])).toContain("over the limit of 4000");
  });

  it("logs subscribe rejects bad options", async () => {
    const namespace = newNamespace();
    cleanNamespace(namespace);
    const sink = (await setup(namespace)).modules.logs;
    await expectBridgeError(sink.subscribe!(() => undefined, { levels: ["loud" as never] }), "VALIDATION_FAILED", ["loud"]);
    await expectBridgeError(sink.subscribe!(() => undefined, { from: "yesterday-ish" }), "VALIDATION_FAILED", ["yesterday-ish"]);
    await expectBridgeError(sink.write("entry" as never), "VALIDATION_FAILED", ["entry"]);
  });

  it("group resumes where it stopped", async () => {
    const namespace = newNamespace();
    cleanNamespace(namespace);
    const first = await setup(namespace);
    const received: Notification[] = [];
    const subscription = await first.modules.notifications.subscribe(`${namespace}.stock.*`, (notification) => void received.push(notification), { group: "replenish" });
    await first.modules.notifications.publish(`${namespace}.stock.low`, { sku: "4984700", n: 1 });
    await eventually(() => expect(received).toHaveLength(1), { timeoutMs: 10_000 });
    await subscription.close();

    // Published while no member of the group runs: the group's commit keeps the place.
    await first.modules.notifications.publish(`${namespace}.stock.low`, { sku: "4984700", n: 2 });
    const second = await setup(namespace);
    const resumed: Notification[] = [];
    await second.modules.notifications.subscribe(`${namespace}.stock.*`, (notification) => void resumed.push(notification), { group: "replenish" });
    await eventually(() => expect(resumed.map((notification) => notification.payload)).toEqual([{ sku: "4984700", n: 2 }]), { timeoutMs: 10_000 });
  });

  it("group replays from a time", async () => {
    const namespace = newNamespace();
    cleanNamespace(namespace);
    const integration = await setup(namespace);
    const notifications = integration.modules.notifications;
    const from = new Date();
    await notifications.publish(`${namespace}.order.confirmed`, { n: 1 }, { tenantId: `${namespace}-a`, correlationId: "corr-7" });

    const seen: Array<{ tenant: string; correlation: string | undefined; payload: unknown }> = [];
    await notifications.subscribe(`${namespace}.order.#`, (notification) => {
      seen.push({ tenant: notification.tenantId, correlation: notification.correlationId, payload: notification.payload });
    }, { group: "audit", from });
    await eventually(() => expect(seen).toEqual([{ tenant: `${namespace}-a`, correlation: "corr-7", payload: { n: 1 } }]), { timeoutMs: 10_000 });
  });

  it("oversized notification is rejected", async () => {
    const namespace = newNamespace();
    cleanNamespace(namespace);
    const notifications = (await setup(namespace, { maxPayloadBytes: 1_000 })).modules.notifications;
    await expectBridgeError(notifications.publish(`${namespace}.catalog.imported`, { rows: "x".repeat(2_000) }), "PAYLOAD_TOO_LARGE", [`${namespace}.catalog.imported`]);
    await expectBridgeError(notifications.subscribe(`${namespace}.a`, () => undefined, { group: "-bad" }), "VALIDATION_FAILED", ["-bad"]);
    await expectBridgeError(notifications.subscribe(`${namespace}.a`, () => undefined, { from: "soon" }), "VALIDATION_FAILED", ["soon"]);
  });
});
