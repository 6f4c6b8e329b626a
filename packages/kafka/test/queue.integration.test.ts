// Kafka-specific queue cases against the local broker: poison records,
// replay from an offset or a time, lease expiry on the last attempt, payload
// limits and the dead-letter headers.
import { randomUUID } from "node:crypto";
import { expectBridgeError, eventually, newNamespace, sleep } from "@bridge/testkit";
import { afterEach, expect, it } from "vitest";
import { HEADER, kafka, type KafkaOptions } from "../src/index.js";
import { deleteNamespace, describeWithKafka, FAST, KAFKA_BROKERS, produceRaw, rawKafka, testLogger } from "./helpers.js";

describeWithKafka("kafka queue", () => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(extra: KafkaOptions = {}) {
    const namespace = newNamespace();
    const log = testLogger();
    const integration = kafka({ brokers: KAFKA_BROKERS, queueTopicPrefix: `${namespace}.jobs`, groupId: namespace, backoffBaseMs: 50, ...FAST, ...extra });
    await integration.start({ logger: log.logger });
    cleanups.push(async () => {
      await integration.stop({ deadlineMs: 1_000 });
      await deleteNamespace(namespace);
    });
    return { integration, queue: integration.modules.queue, namespace, task: `${namespace}.order`, lines: log.lines };
  }

  it("poison record is dead-lettered, later jobs run", async () => {
    const { queue, task } = await setup({ queuePartitions: 1 });
    const topics = await queue.ensureTopics(task);
    const poison = Buffer.from([0xff, 0xfe, 0x00, 0x7b]);
    await produceRaw(topics.main, [poison]);
    const jobs = await queue.publishBatch([1, 2, 3].map((n) => ({ task, payload: { n } })));

    const handled: string[] = [];
    queue.consume(task, async (job) => {
      handled.push(job.id);
    });

    await eventually(() => expect(handled).toEqual(jobs.map((job) => job.id)), { timeoutMs: 10_000 });
    const [letter, ...others] = await queue.listDeadLetters(task);
    expect(others).toEqual([]);
    expect(letter?.reason).toBe("invalid-job-card");
    expect(letter?.job).toBeNull();
    expect(letter?.error?.message).toContain(`topic "${topics.main}"`);
    expect(letter?.error?.message).toContain("not valid UTF-8");
    // The offset moved past the poison record and the jobs: nothing is left to consume.
    await eventually(async () => expect((await queue.stats(task)).depth).toBe(0), { timeoutMs: 5_000 });
  });

  it("dead letter headers carry reason and error", async () => {
    const { queue, task } = await setup();
    const job = await queue.publish(task, { sku: "4984700" }, { maxAttempts: 1 });
    const [lease] = await eventually(async () => {
      const batch = await queue.fetchBatch(task, { max: 1, waitMs: 200 });
      expect(batch).toHaveLength(1);
      return batch;
    }, { timeoutMs: 10_000 });
    await queue.fail(lease!, new Error("unknown SKU 4984700"));

    const topics = queue.names(task);
    const consumer = rawKafka().consumer({ groupId: `${topics.group}.inspect`, maxWaitTimeInMs: 100 });
    const seen: Array<{ key: string | undefined; headers: Record<string, string> }> = [];
    await consumer.connect();
    await consumer.subscribe({ topic: topics.deadLetter, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]));
        seen.push({ key: message.key?.toString(), headers });
      },
    });
    try {
      await eventually(() => expect(seen).toHaveLength(1), { timeoutMs: 10_000 });
    } finally {
      await consumer.disconnect();
    }
    const [record] = seen;
    expect(record?.key).toBe(job.id);
    expect(record?.headers[HEADER.reason]).toBe("max-attempts");
    expect(record?.headers[HEADER.attempts]).toBe("1");
    expect(JSON.parse(record?.headers[HEADER.error] ?? "{}")).toMatchObject({ message: "unknown SKU 4984700" });
    expect(record?.headers[HEADER.source]).toMatch(new RegExp(`^${topics.main.replace(/\./g, "\\.")}/\\d+/\\d+$`));
  });

  it("slow handler is aborted and dead-lettered", async () => {
    const { queue, task } = await setup();
    const job = await queue.publish(task, { sku: "4984700" }, { timeoutMs: 100, maxAttempts: 1 });
    const aborted: unknown[] = [];
    queue.consume(task, async (_job, signal) => {
      await new Promise<void>((resolve) => {
        signal.addEventListener("abort", () => {
          aborted.push(signal.reason);
          resolve();
        });
      });
    });

    const [letter] = await eventually(async () => {
      const list = await queue.listDeadLetters(task);
      expect(list).toHaveLength(1);
      return list;
    }, { timeoutMs: 10_000 });
    expect(letter).toMatchObject({ id: job.id, reason: "handler-timeout", attempts: 1 });
    expect(letter?.error?.code).toBe("TIMEOUT");
    expect(aborted).toHaveLength(1);
  });

  it("replayFrom offset delivers jobs again", async () => {
    const { queue, task } = await setup();
    const jobs = await queue.publishBatch([1, 2, 3, 4, 5].map((n) => ({ task, payload: { n } })));
    const seen: string[] = [];
    queue.consume(task, async (job) => {
      seen.push(job.id);
    });
    await eventually(() => expect(seen).toHaveLength(5), { timeoutMs: 10_000 });
    await eventually(async () => expect((await queue.stats(task)).depth).toBe(0));

    const offsets = await queue.replayFrom(task, { offset: 0 });
    expect(offsets.map((entry) => entry.offset)).toEqual([0, 0, 0]);
    await eventually(() => expect(seen).toHaveLength(10), { timeoutMs: 15_000 });
    const counts = new Map<string, number>();
    for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(jobs.map((job) => job.id).sort());
    expect([...counts.values()]).toEqual([2, 2, 2, 2, 2]);
  });

  it("replayFrom time skips older jobs", async () => {
    const { queue, task } = await setup();
    await queue.publishBatch([1, 2].map((n) => ({ task, payload: { batch: "old", n } })));
    await sleep(50);
    const from = new Date();
    await sleep(50);
    const recent = await queue.publishBatch([3, 4].map((n) => ({ task, payload: { batch: "new", n } })));

    const seen: string[] = [];
    queue.consume(task, async (job) => {
      seen.push(job.id);
    });
    await eventually(() => expect(seen).toHaveLength(4), { timeoutMs: 10_000 });
    await eventually(async () => expect((await queue.stats(task)).depth).toBe(0));

    await queue.replayFrom(task, { time: from });
    await eventually(() => expect(seen).toHaveLength(6), { timeoutMs: 15_000 });
    await sleep(300);
    expect(seen.slice(4).sort()).toEqual(recent.map((job) => job.id).sort());
  });

  it("replayFrom rejects invalid targets", async () => {
    const { queue, task } = await setup();
    await expectBridgeError(queue.replayFrom(task, { offset: -1 }), "VALIDATION_FAILED", ["-1"]);
    await expectBridgeError(queue.replayFrom(task, { offset: 0, partition: 99 }), "VALIDATION_FAILED", ["99"]);
    await expectBridgeError(queue.replayFrom(task, { time: "next tuesday" }), "VALIDATION_FAILED", ["next tuesday"]);
    await expectBridgeError(queue.replayFrom(task, {} as never), "VALIDATION_FAILED");
  });

  it("expired lease on last attempt dead-letters", async () => {
    const { queue, task } = await setup();
    const job = await queue.publish(task, { n: 1 }, { maxAttempts: 1 });
    await eventually(async () => expect(await queue.fetchBatch(task, { max: 1, waitMs: 200, leaseMs: 100 })).toHaveLength(1), { timeoutMs: 10_000 });

    const letters = await eventually(async () => {
      const list = await queue.listDeadLetters(task);
      expect(list).toHaveLength(1);
      return list;
    }, { timeoutMs: 5_000 });
    expect(letters[0]).toMatchObject({ id: job.id, reason: "max-attempts", attempts: 1 });
    expect(letters[0]?.error?.code).toBe("LEASE_EXPIRED");
    expect(await queue.fetchBatch(task, { max: 1, waitMs: 200 })).toEqual([]);
  });

  it("settling an expired lease is rejected", async () => {
    const { queue, task } = await setup();
    await queue.publish(task, { n: 1 });
    const [lease] = await eventually(async () => {
      const batch = await queue.fetchBatch(task, { max: 1, waitMs: 200, leaseMs: 50 });
      expect(batch).toHaveLength(1);
      return batch;
    }, { timeoutMs: 10_000 });
    await sleep(150);
    await expectBridgeError(queue.commit(lease!), "LEASE_EXPIRED", [lease!.job.id]);
    await expectBridgeError(queue.fail(lease!, new Error("late")), "LEASE_EXPIRED", [lease!.job.id]);
    await expectBridgeError(queue.commit({ leaseId: "nope", job: lease!.job, leaseExpiresAt: 0 }), "LEASE_EXPIRED", ['"nope"']);
  });

  it("oversized payload is rejected", async () => {
    const { queue, task } = await setup({ maxPayloadBytes: 2_000 });
    await expectBridgeError(queue.publish(task, { note: "x".repeat(5_000) }), "PAYLOAD_TOO_LARGE", [task, "2000"]);
    await expectBridgeError(
      queue.publishBatch([
        { task, payload: { n: 1 } },
        { task, payload: { note: "x".repeat(5_000) } },
      ]),
      "PAYLOAD_TOO_LARGE",
      ["item 1"],
    );
    await expectBridgeError(queue.publish(task, { n: 1n }), "VALIDATION_FAILED", [task]);
    expect((await queue.stats(task)).depth, "a rejected batch sends nothing").toBe(0);
  });

  it("long task name is rejected", async () => {
    const { queue } = await setup({ queueTopicPrefix: `p${"x".repeat(150)}` });
    await expectBridgeError(queue.publish(`t${"y".repeat(99)}`, {}), "VALIDATION_FAILED", ["249"]);
  });

  it("ordering key keeps one partition", async () => {
    const { queue, task } = await setup();
    const key = `customer-${randomUUID()}`;
    await queue.publishBatch(Array.from({ length: 12 }, (_, n) => ({ task, payload: { n }, options: { orderingKey: key } })));
    const topics = queue.names(task);
    const offsets = await (async () => {
      const admin = rawKafka().admin();
      await admin.connect();
      try {
        return await admin.fetchTopicOffsets(topics.main);
      } finally {
        await admin.disconnect();
      }
    })();
    expect(offsets.map((entry) => Number(entry.high)).sort((a, b) => b - a)).toEqual([12, 0, 0]);

    const order: number[] = [];
    queue.consume<{ n: number }>(task, async (job) => {
      order.push(job.payload.n);
      await sleep(3);
    }, { concurrency: 4 });
    await eventually(() => expect(order).toEqual(Array.from({ length: 12 }, (_, n) => n)), { timeoutMs: 10_000 });
  });

  it("health reports consumer lag per group", async () => {
    const { integration, queue, task } = await setup();
    await queue.publishBatch([1, 2, 3].map((n) => ({ task, payload: { n } })));
    await queue.fetchBatch(task, { max: 1, waitMs: 0 });
    await eventually(async () => {
      const report = await integration.health();
      expect(report.status).toBe("up");
      expect(report.detail?.["consumerLag"]).toEqual({ [queue.names(task).group]: 3 });
    }, { timeoutMs: 10_000 });
  });
});

describeWithKafka("kafka unreachable", () => {
  it("start fails with the brokers named", async () => {
    const integration = kafka({ brokers: "127.0.0.1:1", connectionTimeoutMs: 200, startTimeoutMs: 1_000 });
    const error = await expectBridgeError(integration.start({ logger: testLogger().logger }), "UNAVAILABLE", ["127.0.0.1:1", "KAFKA_BROKERS"]);
    expect(error.retryable).toBe(true);
    const report = await integration.health();
    expect(report.status).toBe("degraded");
    await integration.stop({ deadlineMs: 100 });
    expect((await integration.health()).status).toBe("down");
  });
});
