// Logs and notifications cases that only RabbitMQ has, and the provider
// loaded from environment variables the way createBridgeFromEnv does it.
import { ConfigError, createBridgeFromEnv, isBridgeError, type LogEntry, type Notification } from "@bridge/core";
import { connect } from "amqplib";
import { afterEach, expect, it } from "vitest";
import * as providerModule from "../src/index.js";
import { rabbitmq } from "../src/index.js";
import { deleteExchanges, deleteTopology, describeWithRabbitMQ, RABBITMQ_URL, testLogger } from "./helpers.js";

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function namespace(): string {
  return `it${Math.random().toString(36).slice(2, 10)}`;
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function entry(level: LogEntry["level"], message: string): LogEntry {
  return { id: `${level}-${message}`, timestamp: new Date().toISOString(), level, message };
}

describeWithRabbitMQ("rabbitmq logs and notifications", () => {
  it("fanout gives each consumer every entry", async () => {
    const exchange = `${namespace()}.logs`;
    const integration = rabbitmq({ url: RABBITMQ_URL, logsExchange: exchange });
    await integration.start({ logger: testLogger().logger });
    cleanups.push(async () => {
      await integration.stop({ deadlineMs: 1_000 });
      await deleteExchanges([`${exchange}.levels`, exchange]);
    });
    const sink = integration.modules.logs;

    // A file writer and a viewer bound by other programs straight to the fanout exchange.
    const raw = await connect(RABBITMQ_URL);
    cleanups.push(() => raw.close());
    const channel = await raw.createChannel();
    await sink.write([]);
    const received: Record<string, string[]> = { writer: [], viewer: [] };
    for (const name of Object.keys(received)) {
      const { queue } = await channel.assertQueue("", { exclusive: true });
      await channel.bindQueue(queue, exchange, "");
      await channel.consume(queue, (message) => {
        if (message) received[name]!.push((JSON.parse(message.content.toString()) as LogEntry).message);
      }, { noAck: true });
    }
    const errors: string[] = [];
    const subscription = await sink.subscribe!((logged) => errors.push(logged.message), { levels: ["error", "fatal"] });

    await sink.write([entry("info", "order placed"), entry("error", "payment failed"), entry("fatal", "worker crashed")]);
    await waitFor(() => received.writer!.length === 3 && received.viewer!.length === 3 && errors.length === 2);
    // Entries of one batch may travel on different pooled channels, so only the set is fixed.
    expect([...received.writer!].sort()).toEqual(["order placed", "payment failed", "worker crashed"]);
    expect([...received.viewer!].sort()).toEqual(["order placed", "payment failed", "worker crashed"]);
    expect([...errors].sort()).toEqual(["payment failed", "worker crashed"]);
    await subscription.close();
  });

  it("log write fails fast while disconnected", async () => {
    const integration = rabbitmq({ url: RABBITMQ_URL, logsExchange: `${namespace()}.logs` });
    const error = await integration.modules.logs.write([entry("info", "before start")]).catch((caught: unknown) => caught);
    expect(isBridgeError(error, "UNAVAILABLE")).toBe(true);
    expect((error as Error).message).toContain("idle");
  });

  it("group queue keeps notifications for later members", async () => {
    const exchange = `${namespace()}.notifications`;
    const integration = rabbitmq({ url: RABBITMQ_URL, notificationsExchange: exchange });
    await integration.start({ logger: testLogger().logger });
    const groupQueue = `${exchange}.billing.order.*`;
    cleanups.push(async () => {
      await integration.stop({ deadlineMs: 1_000 });
      await deleteExchanges([exchange], [groupQueue]);
    });
    const notifications = integration.modules.notifications;

    const first = await notifications.subscribe("order.*", () => undefined, { group: "billing" });
    await first.close();
    await notifications.publish("order.confirmed", { engagementId: "eng-7" });

    const received: Notification[] = [];
    await notifications.subscribe("order.*", (notification) => {
      received.push(notification);
    }, { group: "billing" });
    await waitFor(() => received.length === 1);
    expect(received[0]?.payload).toEqual({ engagementId: "eng-7" });

    const raw = await connect(RABBITMQ_URL);
    cleanups.push(() => raw.close());
    const check = await (await raw.createChannel()).checkQueue(groupQueue);
    expect(check.queue).toBe(groupQueue);
  });

  it("replay is rejected as not supported", async () => {
    const integration = rabbitmq({ url: RABBITMQ_URL });
    const error = await integration.modules.notifications.subscribe("order.*", () => undefined, { from: new Date() }).catch((caught: unknown) => caught);
    expect(isBridgeError(error, "NOT_SUPPORTED")).toBe(true);
    expect((error as Error).message).toContain("order.*");
    const logError = await integration.modules.logs.subscribe!(() => undefined, { from: "2025-01-01T00:00:00Z" }).catch((caught: unknown) => caught);
    expect(isBridgeError(logError, "NOT_SUPPORTED")).toBe(true);
    expect((logError as Error).message).toContain("2025-01-01T00:00:00Z");
  });

  it("oversized notification is rejected", async () => {
    const exchange = `${namespace()}.notifications`;
    const integration = rabbitmq({ url: RABBITMQ_URL, notificationsExchange: exchange, maxPayloadBytes: 512 });
    await integration.start({ logger: testLogger().logger });
    cleanups.push(async () => {
      await integration.stop({ deadlineMs: 1_000 });
      await deleteExchanges([exchange]);
    });
    const error = await integration.modules.notifications.publish("order.confirmed", { note: "x".repeat(1_000) }).catch((caught: unknown) => caught);
    expect(isBridgeError(error, "PAYLOAD_TOO_LARGE")).toBe(true);
  });
});

describeWithRabbitMQ("rabbitmq from environment", () => {
  it("serves three roles from env", async () => {
    const prefix = namespace();
    const url = new URL(RABBITMQ_URL);
    const bridge = await createBridgeFromEnv(
      {
        BRIDGE_QUEUE: "rabbitmq",
        BRIDGE_LOGS: "rabbitmq",
        BRIDGE_NOTIFICATIONS: "rabbitmq",
        BRIDGE_LOG_STDERR: "false",
        RABBITMQ_HOST: url.hostname,
        RABBITMQ_PORT: url.port || "5672",
        RABBITMQ_QUEUE_PREFIX: prefix,
        RABBITMQ_LOGS_EXCHANGE: `${prefix}.logs`,
        RABBITMQ_NOTIFICATIONS_EXCHANGE: `${prefix}.notifications`,
      },
      { loadProvider: async () => providerModule },
    );
    cleanups.push(async () => {
      await deleteTopology(prefix, ["order.place"]);
      await deleteExchanges([`${prefix}.logs.levels`, `${prefix}.logs`, `${prefix}.notifications`]);
    });

    expect(bridge.providers.queue).toEqual(["rabbitmq"]);
    expect(bridge.providers.logs).toEqual(["rabbitmq"]);
    expect(bridge.providers.notifications).toEqual(["rabbitmq"]);
    await bridge.start();
    try {
      const card = await bridge.queue.publish("order.place", { engagementId: "eng-1" });
      const [lease] = await bridge.queue.fetchBatch("order.place", { max: 1, waitMs: 2_000 });
      expect(lease?.job.id).toBe(card.id);
      await bridge.queue.commit(lease!);
      const health = await bridge.health();
      expect(health.integrations.rabbitmq?.status).toBe("up");
    } finally {
      await bridge.stop({ drainMs: 1_000 });
    }
  });

  it("bad variables are listed, password masked", async () => {
    const error = await createBridgeFromEnv(
      {
        BRIDGE_QUEUE: "rabbitmq",
        RABBITMQ_URL: "http://shop:s3cret-pw@127.0.0.1:5672",
        RABBITMQ_PREFETCH_COUNT: "0",
        RABBITMQ_QUORUM_QUEUES: "perhaps",
      },
      { loadProvider: async () => providerModule },
    ).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ConfigError);
    const variables = (error as ConfigError).problems.map((problem) => problem.variable).sort();
    expect(variables).toEqual(["RABBITMQ_PREFETCH_COUNT", "RABBITMQ_QUORUM_QUEUES", "RABBITMQ_URL"]);
    expect((error as Error).message).not.toContain("s3cret-pw");
  });
});
