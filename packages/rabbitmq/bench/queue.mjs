#!/usr/bin/env node
// Queue benchmark: jobs per second end to end (publish with a publisher
// confirm, consume, ack) through Bridge's RabbitMQ queue, through raw amqplib
// doing the same work, and through BullMQ on the local Redis as the peer.
// Rounds alternate the three paths. Prints one `BENCH {json}` line.
//
// Usage (after a build): node packages/rabbitmq/bench/queue.mjs [--quick]
// Needs RabbitMQ on RABBITMQ_URL (default amqp://guest:guest@127.0.0.1:5672)
// and Redis on REDIS_URL (default redis://127.0.0.1:6379); without Redis the
// peer is left out of the line.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { connect } from "amqplib";
import { rabbitmq } from "../dist/index.js";

const quick = process.argv.includes("--quick");
const JOBS = quick ? 2_000 : 10_000;
const ROUNDS = quick ? 3 : 5;
/** Publishes awaiting their confirm at any time, the same for every path. */
const WINDOW = 200;
/** Handlers running at once, and the prefetch of each consumer channel. */
const CONCURRENCY = 50;
const RABBITMQ_URL = process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error(message, fields) { console.error(message, fields); }, fatal() {}, child() { return silent; } };

/** Runs `send(i)` for i in 0..count-1 with at most `window` calls pending. */
async function windowed(count, window, send) {
  let next = 0;
  async function lane() {
    while (next < count) {
      const i = next++;
      await send(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
}

function payload(i) {
  return { engagementId: `eng-${i}`, lines: [{ sku: "4984700", quantity: 2 }], sentAt: performance.now() };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function bridgeRound(integration, round) {
  const queue = integration.modules.queue;
  const task = `bench.r${round}`;
  const latencies = [];
  let done = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  await queue.stats(task); // declares the topology outside the timed part

  const started = performance.now();
  const consumer = queue.consume(
    task,
    async (job) => {
      latencies.push(performance.now() - job.payload.sentAt);
      if (++done === JOBS) finish();
    },
    { concurrency: CONCURRENCY },
  );
  await windowed(JOBS, WINDOW, (i) => queue.publish(task, payload(i)));
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await consumer.stop({ drainMs: 5_000 });
  return { opsPerSecond: JOBS / seconds, latencies };
}

/**
 * The same work on amqplib alone: a job card of the same shape, persistent,
 * confirmed, on a queue with the same arguments, consumed with the same
 * prefetch and acked after a handler of the same concurrency.
 */
async function rawRound(model, round, prefix) {
  const queueName = `${prefix}.raw.r${round}`;
  const exchange = `${prefix}.raw`;
  const setup = await model.createChannel();
  await setup.assertExchange(exchange, "direct", { durable: true });
  await setup.assertQueue(queueName, { durable: true, arguments: { "x-max-priority": 10 } });
  await setup.bindQueue(queueName, exchange, queueName);
  await setup.close();

  const publisher = await model.createConfirmChannel();
  const consumerChannel = await model.createChannel();
  await consumerChannel.prefetch(CONCURRENCY);
  let done = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));

  const started = performance.now();
  await consumerChannel.consume(queueName, (message) => {
    const job = JSON.parse(message.content.toString("utf8"));
    job.attempts += 1;
    Promise.resolve().then(() => {
      consumerChannel.ack(message);
      if (++done === JOBS) finish();
    });
  });
  await windowed(JOBS, WINDOW, (i) => {
    const job = {
      id: randomUUID(),
      task: queueName,
      payload: payload(i),
      tenantId: "default",
      priority: 5,
      attempts: 0,
      maxAttempts: 3,
      createdAt: new Date().toISOString(),
      scheduledFor: null,
      timeoutMs: 30_000,
    };
    return new Promise((resolve, reject) => {
      publisher.publish(exchange, queueName, Buffer.from(JSON.stringify(job)), { persistent: true, priority: 5, contentType: "application/json", messageId: job.id }, (error) =>
        error ? reject(error) : resolve(),
      );
    });
  });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await consumerChannel.close();
  await publisher.close();
  const cleanup = await model.createChannel();
  await cleanup.deleteQueue(queueName);
  await cleanup.deleteExchange(exchange);
  await cleanup.close();
  return { opsPerSecond: JOBS / seconds };
}

async function loadBullMQ() {
  try {
    const [{ Queue, Worker }, { default: Redis }] = await Promise.all([import("bullmq"), import("ioredis")]);
    const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    probe.on("error", () => undefined);
    await probe.connect();
    await probe.quit();
    return { Queue, Worker };
  } catch (error) {
    console.error(`BullMQ peer skipped: Redis at ${REDIS_URL} is not reachable (${error.message}); run \`pnpm services:up\`.`);
    return undefined;
  }
}

async function bullRound(bull, round, prefix) {
  const url = new URL(REDIS_URL);
  const connection = { host: url.hostname, port: Number(url.port || 6379) };
  const name = `${prefix}-bull-r${round}`;
  const queue = new bull.Queue(name, { connection });
  let done = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));

  const started = performance.now();
  const worker = new bull.Worker(
    name,
    async () => {
      if (++done === JOBS) finish();
    },
    { connection, concurrency: CONCURRENCY },
  );
  queue.on("error", () => undefined);
  worker.on("error", () => undefined);
  let timer;
  const stalled = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`BullMQ handled ${done} of ${JOBS} jobs within 60 s; is Redis still up?`)), 60_000);
  });
  await Promise.race([windowed(JOBS, WINDOW, (i) => queue.add("job", payload(i), { removeOnComplete: true, removeOnFail: true })).then(() => finished), stalled]).finally(() =>
    clearTimeout(timer),
  );
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return { opsPerSecond: JOBS / seconds };
}

/** Runs one round and adds the Node.js CPU time it used per job (user + system, in microseconds). */
async function measured(run) {
  const before = process.cpuUsage();
  const result = await run();
  const used = process.cpuUsage(before);
  return { ...result, cpuMicrosPerJob: (used.user + used.system) / JOBS };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const prefix = `bench${Date.now().toString(36)}`;
  const integration = rabbitmq({ url: RABBITMQ_URL, queuePrefix: prefix });
  await integration.start({ logger: silent });
  const raw = await connect(RABBITMQ_URL);
  const bull = await loadBullMQ();

  const bridgeRates = [];
  const rawRates = [];
  const pairedRatios = [];
  const bridgeCpu = [];
  const rawCpu = [];
  const peerRates = [];
  const latencies = [];
  try {
    // One warm-up round of each path, not counted.
    await bridgeRound(integration, -1);
    await rawRound(raw, -1, prefix);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ["bridge", "raw"] : ["raw", "bridge"];
      for (const path of order) {
        if (path === "bridge") {
          const result = await measured(() => bridgeRound(integration, round));
          bridgeRates.push(result.opsPerSecond);
          bridgeCpu.push(result.cpuMicrosPerJob);
          latencies.push(...result.latencies);
        } else {
          const result = await measured(() => rawRound(raw, round, prefix));
          rawRates.push(result.opsPerSecond);
          rawCpu.push(result.cpuMicrosPerJob);
        }
      }
      pairedRatios.push(bridgeRates.at(-1) / rawRates.at(-1));
      if (bull) {
        try {
          peerRates.push((await bullRound(bull, round, prefix)).opsPerSecond);
        } catch (error) {
          console.error(`BullMQ round ${round + 1} failed: ${error.message}`);
        }
      }
      console.error(
        `round ${round + 1}/${ROUNDS}: bridge ${Math.round(bridgeRates.at(-1))} jobs/s, raw amqplib ${Math.round(rawRates.at(-1))} jobs/s` +
          (bull ? `, BullMQ ${Math.round(peerRates.at(-1))} jobs/s` : ""),
      );
    }
  } finally {
    await cleanupBridgeQueues(raw, prefix);
    await raw.close();
    await integration.stop({ deadlineMs: 2_000 });
  }

  latencies.sort((a, b) => a - b);
  const bridgeOps = median(bridgeRates);
  const rawOps = median(rawRates);
  const line = {
    suite: "queue",
    provider: "rabbitmq",
    ops: JOBS,
    rounds: ROUNDS,
    bridge_ops_per_s: Math.round(bridgeOps),
    raw_ops_per_s: Math.round(rawOps),
    // Median of the per-round ratios: each Bridge round is compared with the raw round next to it, which cancels slow drifts in machine load.
    ratio_vs_raw: Number(median(pairedRatios).toFixed(3)),
    ...(peerRates.length > 0
      ? { peer: "bullmq", peer_ops_per_s: Math.round(median(peerRates)), ratio_vs_peer: Number((bridgeOps / median(peerRates)).toFixed(3)) }
      : {}),
    bridge_cpu_us_per_job: Math.round(median(bridgeCpu)),
    raw_cpu_us_per_job: Math.round(median(rawCpu)),
    p50_ms: Number(percentile(latencies, 50).toFixed(2)),
    p99_ms: Number(percentile(latencies, 99).toFixed(2)),
    rss_mb: Math.round(process.memoryUsage().rss / 1024 / 1024),
  };
  console.log(`BENCH ${JSON.stringify(line)}`);
}

async function cleanupBridgeQueues(model, prefix) {
  const { taskQueueNames, DEFAULT_DELAY_LEVELS_MS } = await import("../dist/index.js");
  const channel = await model.createChannel();
  for (let round = -1; round < ROUNDS; round++) {
    const names = taskQueueNames(prefix, `bench.r${round}`, DEFAULT_DELAY_LEVELS_MS);
    for (const queue of [names.work, names.deadLetter, ...names.wait.values()]) await channel.deleteQueue(queue);
  }
  await channel.deleteExchange(`${prefix}.jobs`);
  await channel.deleteExchange(`${prefix}.dlx`);
  await channel.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
