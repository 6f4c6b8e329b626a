// Helpers of the Kafka tests: the broker address, a logger that keeps lines,
// raw kafkajs access for foreign records, and topic cleanup by namespace.
import type { Logger } from "@bridge/core";
import { describeWithService } from "@bridge/testkit";
import type { Kafka } from "kafkajs";
import { loadKafkajs } from "../src/kafkajs-loader.js";

/** Same variable and default as the testkit's reachability check. */
export const KAFKA_BROKERS = (process.env.KAFKA_BROKERS?.trim() || "127.0.0.1:9092").split(",");

/** Registers a describe block that runs only when the local Kafka is reachable (and fails under BRIDGE_REQUIRE_SERVICES=1). */
export function describeWithKafka(title: string, body: () => void): void {
  describeWithService("kafka", title, () => body());
}

/** Settings that make group joins and takeovers quick in tests. */
export const FAST = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, fetchMaxWaitMs: 100 } as const;

/** Creates a logger that keeps each line as text, so tests can check what was logged. */
export function testLogger(echo = process.env.KAFKA_TEST_LOGS === "1"): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
      const line = `${level} ${message} ${JSON.stringify({ ...bindings, ...fields }, (_, value: unknown) => (value instanceof Error ? value.message : value))}`;
      lines.push(line);
      if (echo) console.log(line);
    };
    return {
      trace: write("trace"),
      debug: write("debug"),
      info: write("info"),
      warn: write("warn"),
      error: write("error"),
      fatal: write("fatal"),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return { logger: make({}), lines };
}

/**
 * Creates a raw kafkajs client, the way another program would talk to the
 * broker. kafkajs comes through loadKafkajs, so its read_committed consumers
 * drop records of aborted transactions as the Java client does.
 */
export function rawKafka(): Kafka {
  const { Kafka, logLevel } = loadKafkajs().kafkajs;
  return new Kafka({ clientId: "bridge-kafka-test", brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING });
}

/** Produces records to a topic with a plain kafkajs producer, bypassing Bridge. */
export async function produceRaw(topic: string, values: Array<string | Buffer>, key: string | null = null): Promise<void> {
  const producer = rawKafka().producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: values.map((value) => ({ key, value })) });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Deletes every topic and consumer group whose name contains `namespace`.
 * Tries a few times, because right after a broker restart the group
 * coordinator responds "loading" for a while.
 */
export async function deleteNamespace(namespace: string): Promise<void> {
  const admin = rawKafka().admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const topics = (await admin.listTopics()).filter((topic) => topic.includes(namespace));
        if (topics.length > 0) await admin.deleteTopics({ topics });
        const { groups } = await admin.listGroups();
        const groupIds = groups.map((group) => group.groupId).filter((groupId) => groupId.includes(namespace));
        // A group with a member that was killed stays non-empty until its session times out; Kafka drops it later.
        if (groupIds.length > 0) await admin.deleteGroups(groupIds).catch(() => undefined);
        return;
      } catch (error) {
        if (attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  } finally {
    await admin.disconnect();
  }
}
