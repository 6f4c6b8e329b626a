// Queue cases that only RabbitMQ has: the outbox while the broker is away,
// dead-letter headers, quorum queues, payload limits and masked passwords.
import { currentTenantId, isBridgeError, runWithTenant, type JobCard } from "@bridge/core";
import { connect } from "amqplib";
import { afterEach, expect, it } from "vitest";
import { DEAD_LETTER_HEADERS, rabbitmq } from "../src/index.js";
import { deleteTopology, describeWithRabbitMQ, publishForeign, RABBITMQ_URL, startBrokerProxy, testLogger } from "./helpers.js";

type Started = { stop(): Promise<void> };
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startQueue(options: Parameters<typeof rabbitmq>[0] = {}, tasks: string[] = ["job"]) {
  const prefix = options.queuePrefix ?? `it${Math.random().toString(36).slice(2, 10)}`;
  const { logger, lines } = testLogger();
  const integration = rabbitmq({ url: RABBITMQ_URL, ...options, queuePrefix: prefix });
  await integration.start({ logger });
  const started: Started = {
    async stop() {
      await integration.stop({ deadlineMs: 1_000 });
    },
  };
  cleanups.push(async () => {
    await started.stop();
    await deleteTopology(prefix, tasks);
  });
  return { integration, queue: integration.modules.queue, prefix, lines };
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describeWithRabbitMQ("rabbitmq queue", () => {
  it("rejects oversized payload before publishing", async () => {
    const { queue } = await startQueue({ maxPayloadBytes: 1_024 });
    const error = await queue.publish("job", { blob: "x".repeat(2_000) }).catch((caught: unknown) => caught);

    expect(isBridgeError(error, "PAYLOAD_TOO_LARGE")).toBe(true);
    expect((error as Error).message).toContain("1024 bytes");
    expect((error as Error).message).toContain("RABBITMQ_MAX_PAYLOAD_BYTES");
    expect((await queue.stats("job")).depth).toBe(0);
  });

  it("rejects payloads JSON cannot encode", async () => {
    const { queue } = await startQueue();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;

    const error = await queue.publish("job", cyclic).catch((caught: unknown) => caught);
    expect(isBridgeError(error, "VALIDATION_FAILED")).toBe(true);
    const big = await queue.publish("job", { n: 10n }).catch((caught: unknown) => caught);
    expect(isBridgeError(big, "VALIDATION_FAILED")).toBe(true);
  });

  it("bad batch item rejects the whole batch", async () => {
    const { queue } = await startQueue();
    const error = await queue
      .publishBatch([
        { task: "job", payload: { n: 1 } },
        { task: "job", payload: { n: 2 }, options: { priority: 12 } },
      ])
      .catch((caught: unknown) => caught);

    expect(isBridgeError(error, "VALIDATION_FAILED")).toBe(true);
    expect((error as Error).message).toContain("publishBatch item 1");
    expect((error as Error).message).toContain("12");
    expect((await queue.stats("job")).depth).toBe(0);
  });

  it("dead letters carry reason headers", async () => {
    const { queue, prefix, integration } = await startQueue();
    const card = await runWithTenant("shop-1", () => queue.publish("job", { sku: "4984700" }, { maxAttempts: 1 }));
    const [lease] = await queue.fetchBatch("job", { max: 1, waitMs: 2_000 });
    const outcome = await queue.fail(lease!, new Error("warehouse rejected the SKU"));
    expect(outcome).toMatchObject({ action: "dead", reason: "max-attempts", attempts: 1 });

    // Read the dead-letter queue with amqplib, as an operator's tool would.
    const raw = await connect(RABBITMQ_URL);
    try {
      const channel = await raw.createChannel();
      const message = await channel.get(integration.modules.queue.names("job").deadLetter, { noAck: false });
      expect(message).not.toBe(false);
      if (message === false) return;
      const headers = message.properties.headers ?? {};
      expect(headers[DEAD_LETTER_HEADERS.reason]).toBe("max-attempts");
      expect(headers[DEAD_LETTER_HEADERS.attempts]).toBe(1);
      expect(headers[DEAD_LETTER_HEADERS.tenant]).toBe("shop-1");
      expect(JSON.parse(String(headers[DEAD_LETTER_HEADERS.error])).message).toBe("warehouse rejected the SKU");
      expect(message.properties.messageId).toBe(card.id);
      expect(`${prefix}.job.dlq`).toBe(integration.modules.queue.names("job").deadLetter);
      await channel.close();
    } finally {
      await raw.close();
    }
  });

  it("consumer outlives foreign messages", async () => {
    const { queue, prefix } = await startQueue();
    const handled: string[] = [];
    const consumer = queue.consume("job", async (job) => {
      handled.push(job.id);
    });
    await waitFor(async () => (await queue.stats("job")).consumers === 1);

    await publishForeign(prefix, "job", Buffer.from([0xff, 0xfe, 0x00]));
    await publishForeign(prefix, "job", JSON.stringify({ id: "x", task: "job" }));
    const valid = await queue.publish("job", { n: 1 });

    await waitFor(() => handled.includes(valid.id));
    const letters = await queue.listDeadLetters("job");
    expect(letters).toHaveLength(2);
    expect(letters.map((letter) => letter.reason)).toEqual(["invalid-job-card", "invalid-job-card"]);
    expect(letters.some((letter) => /UTF-8/.test(letter.error?.message ?? "")), "the bad bytes are named").toBe(true);
    expect(letters.some((letter) => /tenantId: Required/.test(letter.error?.message ?? "")), "the missing fields are named").toBe(true);
    await consumer.stop();
  });

  it("handler timeout aborts and dead-letters", async () => {
    const { queue } = await startQueue();
    const aborted: string[] = [];
    const consumer = queue.consume("job", async (job, signal) => {
      await new Promise<void>((resolve) => {
        signal.addEventListener("abort", () => {
          aborted.push(job.id);
          resolve();
        });
      });
    });
    const card = await queue.publish("job", { n: 1 }, { timeoutMs: 100, maxAttempts: 1 });

    await waitFor(async () => (await queue.stats("job")).dead === 1);
    expect(aborted).toEqual([card.id]);
    const [letter] = await queue.listDeadLetters("job");
    expect(letter?.reason).toBe("handler-timeout");
    expect(letter?.error?.message).toContain("timed out after 100 ms");
    await consumer.stop();
  });

  it("handler runs in the job's tenant without context", async () => {
    const { queue } = await startQueue();
    const seen: string[] = [];
    const consumer = queue.consume("job", async () => {
      seen.push(currentTenantId());
    });
    await queue.publish("job", { n: 1 });
    await queue.publish("job", { n: 2 }, { tenantId: "shop-2" });
    await waitFor(() => seen.length === 2);
    expect(seen.sort()).toEqual(["default", "shop-2"]);
    await consumer.stop();
  });

  it("expired lease on last attempt dead-letters", async () => {
    const { queue } = await startQueue();
    await queue.publish("job", { n: 1 }, { maxAttempts: 1 });
    const [lease] = await queue.fetchBatch("job", { max: 1, waitMs: 2_000, leaseMs: 50 });
    expect(lease?.job.attempts).toBe(1);

    await waitFor(async () => (await queue.stats("job")).dead === 1);
    const [letter] = await queue.listDeadLetters("job");
    expect(letter?.reason).toBe("handler-timeout");
    const late = await queue.commit(lease!).catch((caught: unknown) => caught);
    expect(isBridgeError(late, "LEASE_EXPIRED")).toBe(true);
  });

  it("commit twice fails with LEASE_EXPIRED", async () => {
    const { queue } = await startQueue();
    await queue.publish("job", { n: 1 });
    const [lease] = await queue.fetchBatch("job", { max: 1, waitMs: 2_000 });
    await queue.commit(lease!);

    const second = await queue.commit(lease!).catch((caught: unknown) => caught);
    expect(isBridgeError(second, "LEASE_EXPIRED")).toBe(true);
    expect((second as Error).message).toContain(lease!.job.id);
    const forged = await queue.fail({ ...lease!, leaseId: "forged" }, new Error("x")).catch((caught: unknown) => caught);
    expect(isBridgeError(forged, "LEASE_EXPIRED")).toBe(true);
  });

  it("quorum queues work without priority", async () => {
    const { queue } = await startQueue({ quorumQueues: true });
    expect(queue.capabilities.priority).toBe(false);

    const card = await queue.publish("job", { n: 1 }, { priority: 9 });
    const [first] = await queue.fetchBatch("job", { max: 1, waitMs: 2_000 });
    expect(first?.job.id).toBe(card.id);
    const retry = await queue.fail(first!, new Error("gateway timed out"), { delayMs: 20 });
    expect(retry.action).toBe("retry");

    const [lease] = await queue.fetchBatch("job", { max: 1, waitMs: 3_000 });
    expect(lease?.job.attempts).toBe(2);
    const outcome = await queue.fail(lease!, new Error("declined"), { retryable: false });
    expect(outcome.action).toBe("dead");
    expect((await queue.listDeadLetters("job")).map((letter) => letter.id)).toEqual([card.id]);
  });

  it("queue type mismatch names the fix", async () => {
    const classic = await startQueue();
    await classic.queue.publish("job", { n: 1 });
    const { queue } = await startQueue({ queuePrefix: classic.prefix, quorumQueues: true }, []);
    const prefix = classic.prefix;

    const error = await queue.publish("job", { n: 2 }).catch((caught: unknown) => caught);
    expect(isBridgeError(error, "CONFLICT"), String(error)).toBe(true);
    expect((error as Error).message).toContain(`${prefix}.job`);
    expect((error as Error).message).toContain("RABBITMQ_QUORUM_QUEUES");
  });

  it("wrong password stays out of errors", async () => {
    const integration = rabbitmq({ url: "amqp://guest:not-the-password-7731@127.0.0.1:5672" });
    const error = await integration.start({ logger: testLogger().logger }).catch((caught: unknown) => caught);

    expect(isBridgeError(error, "UNAVAILABLE")).toBe(true);
    expect((error as Error).message).toContain("amqp://guest:****@127.0.0.1:5672");
    expect((error as Error).message).not.toContain("not-the-password-7731");
    expect(JSON.stringify((error as { toJSON(): unknown }).toJSON())).not.toContain("not-the-password-7731");
  });

  it("closed queue rejects publish", async () => {
    const { queue } = await startQueue();
    await queue.close();
    const error = await queue.publish("job", {}).catch((caught: unknown) => caught);
    expect(isBridgeError(error, "CLOSED")).toBe(true);
  });

  it("outbox sends publishes after reconnect", async () => {
    const proxy = await startBrokerProxy();
    cleanups.push(() => proxy.close());
    const { integration, queue, lines } = await startQueue({ url: proxy.url, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100 });
    await queue.stats("job");

    await proxy.cut();
    await waitFor(async () => (await integration.health()).status === "degraded");
    const pending: Array<Promise<JobCard>> = [1, 2, 3].map((n) => queue.publish("job", { n }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await integration.health()).detail?.outbox).toBe(3);

    await proxy.restore();
    const cards = await Promise.all(pending);
    await waitFor(async () => (await queue.stats("job")).depth === 3);
    const leases = await queue.fetchBatch("job", { max: 10, waitMs: 500 });
    expect(leases.map((lease) => lease.job.id).sort()).toEqual(cards.map((card) => card.id).sort());
    expect((await integration.health()).status).toBe("up");
    expect(lines.some((line) => line.includes("sending publishes queued while RabbitMQ was away"))).toBe(true);
  });

  it("full outbox rejects with OUTBOX_FULL", async () => {
    const proxy = await startBrokerProxy();
    cleanups.push(() => proxy.close());
    const { integration, queue } = await startQueue({ url: proxy.url, outboxSize: 2, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100 });
    await queue.stats("job");

    await proxy.cut();
    await waitFor(async () => (await integration.health()).status === "degraded");
    const queued = [queue.publish("job", { n: 1 }), queue.publish("job", { n: 2 })];
    const error = await queue.publish("job", { n: 3 }).catch((caught: unknown) => caught);
    expect(isBridgeError(error, "OUTBOX_FULL")).toBe(true);
    expect((error as Error).message).toContain("RABBITMQ_OUTBOX_SIZE");
    expect((error as Error).message).not.toContain("guest:guest");

    await proxy.restore();
    await Promise.all(queued);
    await waitFor(async () => (await queue.stats("job")).depth === 2);
  });

  it("changed queue does not block reconnect", async () => {
    const proxy = await startBrokerProxy();
    cleanups.push(() => proxy.close());
    const { integration, queue, prefix, lines } = await startQueue({ url: proxy.url, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100 }, ["job", "other"]);
    await queue.publish("job", { n: 1 });

    // While Bridge is away, an operator re-creates the work queue as a quorum queue.
    await proxy.cut();
    const raw = await connect(RABBITMQ_URL);
    const channel = await raw.createChannel();
    await channel.deleteQueue(`${prefix}.job`);
    await channel.assertQueue(`${prefix}.job`, { durable: true, arguments: { "x-queue-type": "quorum" } });
    await raw.close();
    await proxy.restore();

    await waitFor(async () => (await integration.health()).status === "up");
    expect(lines.some((line) => line.includes("could not declare a task's queues again"))).toBe(true);
    const other = await queue.publish("other", { n: 2 });
    expect(other.task).toBe("other");
    const error = await queue.publish("job", { n: 3 }).catch((caught: unknown) => caught);
    expect(isBridgeError(error, "CONFLICT")).toBe(true);
  });

  it("consumer resumes after connection loss", async () => {
    const proxy = await startBrokerProxy();
    cleanups.push(() => proxy.close());
    const { queue } = await startQueue({ url: proxy.url, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100 });
    const seen = new Set<number>();
    const consumer = queue.consume<{ n: number }>("job", async (job) => {
      seen.add(job.payload.n);
    });
    await queue.publish("job", { n: 1 });
    await waitFor(() => seen.has(1));

    await proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await proxy.restore();
    await queue.publish("job", { n: 2 });
    await waitFor(() => seen.has(2));
    await consumer.stop();
  });
});
