#!/usr/bin/env node
// Queue benchmark: jobs per second end to end (publish, consume, commit the
// offset) through Bridge's Kafka queue and through raw kafkajs doing the same
// work, in alternating rounds. Two measurements, one `BENCH {json}` line each:
//
//   batch   publishBatch of 100 jobs (Bridge) against producer.send of 100
//           job cards (kafkajs), 4 batches in flight;
//   single  publish of one job (Bridge) against producer.send of one job card
//           (kafkajs), 200 sends in flight.
//
// `ratio_vs_raw` is the median of per-round ratios; `*_cpu_us_per_job` is the
// Node.js CPU time (user + system) per job in the timed part of each round.
//
// Both paths use an idempotent producer with acks=all, a topic of 3
// partitions, a consumer group with manual offset commits, and handlers that
// run 50 at a time. The raw consumer parses each card as JSON and commits after
// each fetched batch; Bridge commits up to the last contiguous done job.
//
// Usage (after a build): node packages/kafka/bench/queue.mjs [--quick]
// Needs Kafka on KAFKA_BROKERS (default 127.0.0.1:9092).
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { kafka, loadKafkajs } from "../dist/index.js";

const quick = process.argv.includes("--quick");
const JOBS = quick ? 3_000 : 20_000;
const ROUNDS = quick ? 3 : 5;
const CONCURRENCY = 50;
const BATCH = 100;
const BATCH_WINDOW = 4;
const SINGLE_WINDOW = 200;
const BROKERS = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
const PARTITIONS = 3;

const { Kafka, logLevel } = loadKafkajs().kafkajs;
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

/** Builds a job card of the shape Bridge writes, for the raw path. */
function card(task, i) {
  return {
    id: randomUUID(),
    task,
    payload: payload(i),
    tenantId: "default",
    priority: 5,
    attempts: 0,
    maxAttempts: 3,
    createdAt: new Date().toISOString(),
    scheduledFor: null,
    timeoutMs: 30_000,
  };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Publishes `count` jobs through Bridge, in batches or one by one as `mode` selects. */
function bridgePublish(queue, task, mode, count, offset = 0) {
  if (mode === "single") return windowed(count, SINGLE_WINDOW, (i) => queue.publish(task, payload(offset + i)));
  return windowed(Math.ceil(count / BATCH), BATCH_WINDOW, (b) =>
    queue.publishBatch(Array.from({ length: Math.min(BATCH, count - b * BATCH) }, (_, i) => ({ task, payload: payload(offset + b * BATCH + i) }))),
  );
}

/**
 * Runs one round on a fresh integration. The raw path uses fresh clients too,
 * so consumers of earlier rounds do not run alongside.
 */
async function bridgeRound(prefix, mode, round) {
  const integration = kafka({ brokers: BROKERS, queueTopicPrefix: `${prefix}.jobs`, groupId: prefix, queuePartitions: PARTITIONS });
  await integration.start({ logger: silent });
  const queue = integration.modules.queue;
  const task = `${mode}.r${round}`;
  await queue.ensureTopics(task);
  const latencies = [];
  let done = 0;
  let finish;
  let warm;
  const warmed = new Promise((resolve) => (warm = resolve));
  const finished = new Promise((resolve) => (finish = resolve));

  const consumer = queue.consume(
    task,
    async (job) => {
      if (job.payload.warmUp) return warm();
      latencies.push(performance.now() - job.payload.sentAt);
      if (++done === JOBS) finish();
    },
    { concurrency: CONCURRENCY },
  );
  // The group join happens before the timed part: one warm-up job goes through first.
  await queue.publish(task, { warmUp: true });
  await warmed;

  const started = performance.now();
  const cpu = process.cpuUsage();
  await bridgePublish(queue, task, mode, JOBS);
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await consumer.stop({ drainMs: 5_000 });
  await integration.stop({ deadlineMs: 5_000 });
  return { opsPerSecond: JOBS / seconds, latencies, cpuMicrosPerJob: (used.user + used.system) / JOBS };
}

/** Runs the same work on kafkajs alone: same producer settings, same card, a consumer group with manual commits. */
async function rawRound(client, prefix, mode, round) {
  const topic = `${prefix}.raw.${mode}.r${round}`;
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();

  const producer = client.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false });
  await producer.connect();
  const consumer = client.consumer({ groupId: `${topic}.group`, sessionTimeout: 30_000, heartbeatInterval: 3_000, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });

  let done = 0;
  let finish;
  let warm;
  const warmed = new Promise((resolve) => (warm = resolve));
  const finished = new Promise((resolve) => (finish = resolve));
  const handler = async (job) => {
    if (job.payload.warmUp) return warm();
    if (++done === JOBS) finish();
  };
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const jobs = batch.messages.map((message) => {
        const job = JSON.parse(message.value.toString("utf8"));
        job.attempts += 1;
        return job;
      });
      await windowed(jobs.length, CONCURRENCY, (i) => handler(jobs[i]));
      await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }]);
    },
  });
  const send = (jobs) => producer.send({ topic, acks: -1, messages: jobs.map((job) => ({ key: null, value: JSON.stringify(job) })) });
  await send([{ ...card(topic, -1), payload: { warmUp: true } }]);
  await warmed;

  const started = performance.now();
  const cpu = process.cpuUsage();
  if (mode === "single") await windowed(JOBS, SINGLE_WINDOW, (i) => send([card(topic, i)]));
  else await windowed(Math.ceil(JOBS / BATCH), BATCH_WINDOW, (b) => send(Array.from({ length: Math.min(BATCH, JOBS - b * BATCH) }, (_, i) => card(topic, b * BATCH + i))));
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await consumer.disconnect();
  await producer.disconnect();
  return { opsPerSecond: JOBS / seconds, cpuMicrosPerJob: (used.user + used.system) / JOBS };
}

async function deleteTopics(client, prefix) {
  const admin = client.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

async function measure(mode, client, prefix) {
  const bridgeRates = [];
  const rawRates = [];
  const bridgeCpu = [];
  const rawCpu = [];
  const ratios = [];
  const latencies = [];
  // One warm-up round of each path, not counted.
  await bridgeRound(prefix, mode, `w`);
  await rawRound(client, prefix, mode, `w`);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ["bridge", "raw"] : ["raw", "bridge"];
    for (const path of order) {
      if (path === "bridge") {
        const result = await bridgeRound(prefix, mode, round);
        bridgeRates.push(result.opsPerSecond);
        bridgeCpu.push(result.cpuMicrosPerJob);
        latencies.push(...result.latencies);
      } else {
        const result = await rawRound(client, prefix, mode, round);
        rawRates.push(result.opsPerSecond);
        rawCpu.push(result.cpuMicrosPerJob);
      }
    }
    ratios.push(bridgeRates.at(-1) / rawRates.at(-1));
    console.error(`${mode} round ${round + 1}/${ROUNDS}: bridge ${Math.round(bridgeRates.at(-1))} jobs/s, raw kafkajs ${Math.round(rawRates.at(-1))} jobs/s`);
  }

  latencies.sort((a, b) => a - b);
  const bridgeOps = median(bridgeRates);
  const rawOps = median(rawRates);
  return {
    suite: "queue",
    provider: "kafka",
    mode,
    ops: JOBS,
    rounds: ROUNDS,
    bridge_ops_per_s: Math.round(bridgeOps),
    raw_ops_per_s: Math.round(rawOps),
    // Each Bridge round against the raw round next to it, so load from other programs on the machine hits both alike.
    ratio_vs_raw: Number(median(ratios).toFixed(3)),
    p50_ms: Number(percentile(latencies, 50).toFixed(2)),
    p99_ms: Number(percentile(latencies, 99).toFixed(2)),
    bridge_cpu_us_per_job: Math.round(median(bridgeCpu)),
    raw_cpu_us_per_job: Math.round(median(rawCpu)),
    rss_mb: Math.round(process.memoryUsage().rss / 1024 / 1024),
  };
}

async function main() {
  const prefix = `bench${Date.now().toString(36)}`;
  const client = new Kafka({ clientId: "bridge-bench-raw", brokers: BROKERS, logLevel: logLevel.NOTHING });
  try {
    for (const mode of ["batch", "single"]) {
      const line = await measure(mode, client, prefix);
      console.log(`BENCH ${JSON.stringify(line)}`);
    }
  } finally {
    await deleteTopics(client, prefix);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
