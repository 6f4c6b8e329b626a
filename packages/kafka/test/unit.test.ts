// Unit tests that need no broker: options and environment checks, topic
// naming, the aborted-transaction filter and the outbox of the sender.
import { readFileSync } from "node:fs";
import { createRequire, Module } from "node:module";
import { dirname, join } from "node:path";
import { createJobCard, isBridgeError, parseJobCard, type Logger } from "@bridge/core";
import { expectBridgeError } from "@bridge/testkit";
import { describe, expect, it } from "vitest";
import { decodeCard } from "../src/card.js";
import type { KafkaClient, ProduceRecord } from "../src/client.js";
import { envSchema, optionsFromEnv } from "../src/env.js";
import { filterAbortedMessages, kafka, provider } from "../src/index.js";
import { resolveOptions } from "../src/options.js";
import { Sender } from "../src/sender.js";
import { formatDelay, pickRetryLevel, taskTopics } from "../src/topics.js";

const silent: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {}, child: () => silent };

function configError(action: () => unknown): { variable: string; value: string | undefined; message: string } {
  try {
    action();
  } catch (error) {
    if (isBridgeError(error, "CONFIG_INVALID")) return (error.details["problems"] as Array<{ variable: string; value: string | undefined; message: string }>)[0]!;
    throw error;
  }
  throw new Error("expected a CONFIG_INVALID error");
}

describe("options", () => {
  it("defaults fill every field", () => {
    const options = resolveOptions({});
    expect(options.brokers).toEqual(["127.0.0.1:9092"]);
    expect(options.queueTopicPrefix).toBe("bridge.jobs");
    expect(options.queuePartitions).toBe(3);
    expect(options.queueRetentionMs).toBe(24 * 60 * 60 * 1000);
    expect(options.logsTopic).toBe("system-logs");
    expect(options.logsRetentionMs).toBe(7 * 24 * 60 * 60 * 1000);
    expect(options.notificationsTopic).toBe("notifications");
    expect(options.notificationsRetentionMs).toBe(3 * 24 * 60 * 60 * 1000);
    expect(options.compression).toBe("none");
    expect(options.replicationFactor).toBe(-1);
  });

  it("broker list accepts strings and arrays", () => {
    expect(resolveOptions({ brokers: " kafka-1:9092, kafka-2:9093 " }).brokers).toEqual(["kafka-1:9092", "kafka-2:9093"]);
    expect(resolveOptions({ brokers: ["[::1]:9092"] }).brokers).toEqual(["[::1]:9092"]);
  });

  it("bad options name the option and value", () => {
    expect(configError(() => resolveOptions({ brokers: "kafka-1" }))).toMatchObject({ variable: "@bridge/kafka option brokers", value: '"kafka-1"' });
    expect(configError(() => resolveOptions({ brokers: "kafka-1:70000" })).value).toBe('"kafka-1:70000"');
    expect(configError(() => resolveOptions({ queuePartitions: 0 })).message).toContain("whole number");
    expect(configError(() => resolveOptions({ retryLevelsMs: [1000, 100] })).message).toContain("ascending");
    expect(configError(() => resolveOptions({ compression: "lz4" as never })).message).toContain("lz4 and zstd");
    expect(configError(() => resolveOptions({ queueTopicPrefix: "bad/topic" })).variable).toBe("@bridge/kafka option queueTopicPrefix");
    expect(configError(() => resolveOptions({ backoffBaseMs: 500, backoffMaxMs: 100 })).message).toContain("backoffBaseMs (500)");
    expect(configError(() => resolveOptions({ heartbeatIntervalMs: 10_000, sessionTimeoutMs: 6_000 })).message).toContain("sessionTimeoutMs (6000)");
  });

  it("SASL password is never shown", () => {
    const problem = configError(() => resolveOptions({ sasl: { mechanism: "gssapi" as never, username: "app", password: "s3cret" } }));
    expect(problem.variable).toBe("@bridge/kafka option sasl.mechanism");
    expect(JSON.stringify(problem)).not.toContain("s3cret");
    const missing = configError(() => resolveOptions({ sasl: { mechanism: "plain", username: "app", password: 42 as never } }));
    expect(missing.value).toBe("****");
  });
});

describe("environment", () => {
  it("defaults and conversions", () => {
    const env = envSchema.parse({ KAFKA_QUEUE_PARTITIONS: "6", KAFKA_ENABLE_SSL: "yes", UNRELATED: "kept" });
    expect(env.KAFKA_BROKERS).toBe("127.0.0.1:9092");
    expect(env.KAFKA_QUEUE_PARTITIONS).toBe(6);
    expect(env.KAFKA_ENABLE_SSL).toBe(true);
    expect(env["UNRELATED"]).toBe("kept");
    const options = optionsFromEnv(env);
    expect(options).toMatchObject({ brokers: "127.0.0.1:9092", queuePartitions: 6, ssl: true, compression: "none", outboxSize: 10_000 });
    expect(resolveOptions(options).queuePartitions).toBe(6);
  });

  it("every bad variable is reported", () => {
    const result = envSchema.safeParse({
      KAFKA_BROKERS: "localhost",
      KAFKA_QUEUE_PARTITIONS: "three",
      KAFKA_COMPRESSION_TYPE: "zstd",
      KAFKA_ENABLE_SSL: "maybe",
      KAFKA_MAX_BATCH_SIZE: "0",
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) => issue.path.join("."));
    expect(paths.sort()).toEqual(["KAFKA_BROKERS", "KAFKA_COMPRESSION_TYPE", "KAFKA_ENABLE_SSL", "KAFKA_MAX_BATCH_SIZE", "KAFKA_QUEUE_PARTITIONS"]);
    const compression = result.error!.issues.find((issue) => issue.path[0] === "KAFKA_COMPRESSION_TYPE");
    expect(compression?.message).toContain("none, gzip or snappy");
  });

  it("SASL settings go together", () => {
    const result = envSchema.safeParse({ KAFKA_SASL_USERNAME: "app", KAFKA_SASL_PASSWORD: "s3cret" });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]?.path).toEqual(["KAFKA_SASL_MECHANISM"]);
    const partial = envSchema.safeParse({ KAFKA_SASL_MECHANISM: "scram-sha-512" });
    expect(partial.error!.issues.map((issue) => issue.path[0]).sort()).toEqual(["KAFKA_SASL_PASSWORD", "KAFKA_SASL_USERNAME"]);
    expect(provider.secretVariables).toContain("KAFKA_SASL_PASSWORD");
  });

  it("provider builds the integration from env", () => {
    const integration = provider.fromEnv(envSchema.parse({ KAFKA_LOGS_TOPIC: "app-logs" }));
    expect(integration.name).toBe("kafka");
    expect(integration.roles).toEqual(["queue", "logs", "notifications"]);
    expect(Object.keys(integration.modules).sort()).toEqual(["logs", "notifications", "queue"]);
  });
});

describe("topics", () => {
  const options = resolveOptions({ queueTopicPrefix: "shop.jobs", groupId: "workers" });

  it("names follow the task", () => {
    const topics = taskTopics(options, "order.place");
    expect(topics.main).toBe("shop.jobs.order.place");
    expect(topics.deadLetter).toBe("shop.jobs.order.place.dlq");
    expect(topics.retry.map((level) => level.topic)).toEqual(["100ms", "1s", "10s", "1m", "10m", "1h"].map((suffix) => `shop.jobs.order.place.retry.${suffix}`));
    expect(topics.group).toBe("workers.order.place");
    expect(topics.retryGroup).toBe("workers.order.place.retry");
  });

  it("delays format in the largest exact unit", () => {
    expect([250, 1_000, 90_000, 120_000, 7_200_000].map(formatDelay)).toEqual(["250ms", "1s", "90s", "2m", "2h"]);
  });

  it("retry level fits the wait", () => {
    const levels = taskTopics(options, "t").retry;
    expect(pickRetryLevel(levels, 10).delayMs).toBe(100);
    expect(pickRetryLevel(levels, 999).delayMs).toBe(100);
    expect(pickRetryLevel(levels, 1_000).delayMs).toBe(1_000);
    expect(pickRetryLevel(levels, 45_000).delayMs).toBe(10_000);
    expect(pickRetryLevel(levels, 86_400_000).delayMs).toBe(3_600_000);
  });

  it("too long a task is rejected", async () => {
    await expectBridgeError(async () => taskTopics(options, "x".repeat(240)), "VALIDATION_FAILED", ["249"]);
  });
});

describe("aborted transaction filter", () => {
  // Captured from a fetch on the local Kafka 4.4 broker: three producers, their aborted transactions listed in abort order.
  const producers = "0:2548 1:2548C 2:2550 3:2548 4:2549 5:2549C 6:2548C 7:2550C 8:2548".split(" ");
  const messages = producers.map((entry) => {
    const [offset, producer] = entry.split(":") as [string, string];
    const control = producer.endsWith("C");
    return {
      offset,
      key: control ? Buffer.from([0, 0, 0, 0]) : Buffer.from("job"),
      batchContext: { producerId: producer.replace("C", ""), inTransaction: true, isControlBatch: control },
    };
  });
  // Offset 1 commits producer 2548's first transaction; 5, 6 and 7 are the abort markers.
  messages[1]!.key = Buffer.from([0, 0, 0, 1]);
  const abortedTransactions = [
    { producerId: "2549", firstOffset: "4" },
    { producerId: "2548", firstOffset: "3" },
    { producerId: "2550", firstOffset: "2" },
  ];

  it("drops aborted records in any list order", () => {
    const delivered = filterAbortedMessages({ messages, abortedTransactions }).filter((message) => !message.batchContext.isControlBatch);
    expect(delivered.map((message) => message.offset)).toEqual(["0", "8"]);
  });

  it("kafkajs 2.2.4 keeps some of them", () => {
    // This bug is why kafkajs-loader.ts exists: when this starts failing, kafkajs fixed its filter and the replacement can go.
    // The original is compiled from its file, because once kafkajs is loaded the require cache contains the replacement.
    const require = createRequire(import.meta.url);
    const path = join(dirname(require.resolve("kafkajs/package.json")), "src", "consumer", "filterAbortedMessages.js");
    const module = new Module(path) as Module & { _compile(source: string, filename: string): void };
    module.filename = path;
    module.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(path));
    module._compile(readFileSync(path, "utf8"), path);
    const original = module.exports as typeof filterAbortedMessages;
    const delivered = original({ messages, abortedTransactions }).filter((message) => !message.batchContext.isControlBatch);
    expect(delivered.map((message) => message.offset)).not.toEqual(["0", "8"]);
  });
});

describe("sender outbox", () => {
  class ConnectionLost extends Error {
    override name = "KafkaJSConnectionError";
  }

  function fakeClient(): { client: KafkaClient; sent: ProduceRecord[]; up: () => void } {
    let available = false;
    const sent: ProduceRecord[] = [];
    const client = {
      async produce(records: ProduceRecord[]) {
        if (!available) throw new ConnectionLost("connect ECONNREFUSED 127.0.0.1:9092");
        sent.push(...records);
      },
    } as unknown as KafkaClient;
    return { client, sent, up: () => (available = true) };
  }

  it("holds records until the broker is back", async () => {
    const { client, sent, up } = fakeClient();
    const sender = new Sender(() => client, resolveOptions({ outboxSize: 3 }), () => silent);
    const first = sender.send([{ topic: "orders", value: "1" }, { topic: "orders", value: "2" }], "queue");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sender.failure?.lastError).toContain("ECONNREFUSED");

    await expectBridgeError(sender.send([{ topic: "orders", value: "3" }, { topic: "orders", value: "4" }], "queue"), "OUTBOX_FULL", ["KAFKA_OUTBOX_SIZE", '"orders"']);
    const third = sender.send([{ topic: "orders", value: "3" }], "queue");

    up();
    await Promise.all([first, third]);
    expect(sent.map((record) => record.value)).toEqual(["1", "2", "3"]);
    expect(sender.failure).toBeUndefined();
    expect(sender.backlog).toBe(0);
  });

  it("rejects sends after close", async () => {
    const { client } = fakeClient();
    const sender = new Sender(() => client, resolveOptions({}), () => silent);
    const pending = sender.send([{ topic: "orders", value: "1" }], "queue");
    await sender.close(50);
    await expectBridgeError(pending, "CLOSED", ["1 record(s)"]);
    await expectBridgeError(sender.send([{ topic: "orders", value: "2" }], "queue"), "CLOSED");
  });

  it("permanent errors reject the send", async () => {
    const client = {
      async produce() {
        throw Object.assign(new Error("The request included a message larger than the max message size the server will accept"), { type: "MESSAGE_TOO_LARGE", retriable: false });
      },
    } as unknown as KafkaClient;
    const sender = new Sender(() => client, resolveOptions({}), () => silent);
    await expectBridgeError(sender.send([{ topic: "orders", value: "1" }], "queue"), "UNAVAILABLE", ['"orders"', "larger than the max message size"]);
  });
});

describe("integration before start", () => {
  it("modules exist at once", () => {
    const integration = kafka({ brokers: "127.0.0.1:1" });
    expect(integration.modules.queue.capabilities).toEqual({ priority: false, delay: true, orderingByKey: true, replayFromOffset: true, persistent: true, idempotentPublish: true });
    expect(integration.modules.notifications.capabilities).toEqual({ groups: true, replay: true, persistent: true });
    expect(integration.modules.logs.capabilities).toEqual({ query: false, subscribe: true, persistent: true });
  });
});

describe("job card decoding", () => {
  const card = createJobCard("order.place", { engagementId: "eng-1" }, { orderingKey: "customer-42", idempotencyKey: "order-1" }, "tenant-a");
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value));

  it("quick check returns what the schema returns", () => {
    const quick = decodeCard(encode({ ...card, extra: "dropped" }), "order.place");
    const full = parseJobCard({ ...card, extra: "dropped" });
    expect(quick).toEqual(full);
    expect(quick.ok).toBe(true);
    if (quick.ok) expect(quick.job).toEqual(card);
  });

  it("cards the quick check skips still parse", () => {
    const retried = { ...card, attempts: 1, lastError: { name: "Error", message: "gateway timed out" } };
    expect(decodeCard(encode(retried), "order.place")).toEqual(parseJobCard(retried));
    const offset = { ...card, createdAt: "2025-01-31T13:00:00+01:00" };
    expect(decodeCard(encode(offset), "order.place")).toMatchObject({ ok: true, job: { createdAt: "2025-01-31T13:00:00+01:00" } });
  });

  it("invalid cards carry the schema's reason", () => {
    const cases: Array<[string, Buffer | null, string]> = [
      ["tombstone", null, "tombstone"],
      ["bad UTF-8", Buffer.from([0xff, 0xfe]), "not valid UTF-8"],
      ["not JSON", Buffer.from("{not json"), "not JSON"],
      ["priority 0", encode({ ...card, priority: 0 }), "priority"],
      ["impossible date", encode({ ...card, createdAt: "2025-02-30T10:00:00.000Z" }), "createdAt"],
      ["missing tenant", encode({ ...card, tenantId: "" }), "tenantId"],
      ["other task", encode(card), 'expected "invoice.create"'],
    ];
    for (const [label, value, reason] of cases) {
      const parsed = decodeCard(value, label === "other task" ? "invoice.create" : "order.place");
      expect(parsed.ok, label).toBe(false);
      if (!parsed.ok) expect(parsed.reason, label).toContain(reason);
    }
  });
});
