// Fault tests against the local broker: a broker restart in the middle of a
// run, a consumer process killed with SIGKILL, and exactly-once output when
// the consumer dies between producing and committing. Worker processes run
// the built package (test/fixtures/worker.mjs); the file builds it when the
// sources are newer than dist/.
import { fork, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { newNamespace } from "@bridge/testkit";
import { afterEach, beforeAll, expect, it } from "vitest";
import { kafka } from "../src/index.js";
import { deleteNamespace, describeWithKafka, FAST, KAFKA_BROKERS, rawKafka, testLogger } from "./helpers.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const repoRoot = join(packageDir, "..", "..");
const JOBS = 2_000;

/** Builds the package unless dist/index.js is newer than every source file. */
function ensureBuilt(): void {
  const built = join(packageDir, "dist", "index.js");
  const newestSource = Math.max(...readdirSync(join(packageDir, "src")).map((name) => statSync(join(packageDir, "src", name)).mtimeMs));
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource) return;
  const result = spawnSync("pnpm", ["exec", "tsup"], { cwd: packageDir, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`building @bridge/kafka for the worker processes failed:\n${result.stdout}\n${result.stderr}`);
}

function restartKafka(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["scripts/services/restart.sh", "kafka"], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("close", (code) => resolve({ code, output }));
  });
}

interface Worker {
  child: ChildProcess;
  exited: Promise<void>;
}

/** Counts every job id the parent or a worker reported as handled. */
class Tally {
  readonly counts = new Map<string, number>();
  private waiters: Array<{ size: number; resolve: () => void }> = [];

  add(jobId: string): void {
    this.counts.set(jobId, (this.counts.get(jobId) ?? 0) + 1);
    this.waiters = this.waiters.filter((waiter) => {
      if (this.counts.size < waiter.size) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves once `size` distinct jobs were handled; rejects after `timeoutMs` with what is missing. */
  reach(size: number, timeoutMs: number, expected?: string[]): Promise<void> {
    if (this.counts.size >= size) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const missing = expected?.filter((id) => !this.counts.has(id)) ?? [];
        if (process.env.KAFKA_TEST_LOGS === "1") console.log(`missing: ${missing.join(" ")}`);
        reject(new Error(`only ${this.counts.size} of ${size} jobs handled after ${timeoutMs} ms; missing ${missing.length}: ${missing.slice(0, 5).join(", ")}`));
      }, timeoutMs);
      this.waiters.push({ size, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  get duplicates(): number {
    let extra = 0;
    for (const count of this.counts.values()) extra += count - 1;
    return extra;
  }
}

describeWithKafka("kafka faults", () => {
  const cleanups: Array<() => Promise<void>> = [];
  const workers: Worker[] = [];

  beforeAll(() => ensureBuilt(), 120_000);

  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGKILL");
      await worker.exited;
    }
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function startWorker(settings: Record<string, unknown>, tally: Tally, onMessage?: (message: { type: string; jobId?: string }) => void): Promise<Worker> {
    const child = fork(join(packageDir, "test", "fixtures", "worker.mjs"), [], {
      env: { ...process.env, BRIDGE_TEST_WORKER: JSON.stringify({ brokers: KAFKA_BROKERS, ...settings }) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const worker: Worker = { child, exited: new Promise((resolve) => child.once("exit", () => resolve())) };
    workers.push(worker);
    return new Promise((resolve, reject) => {
      child.once("exit", (code, signal) => reject(new Error(`worker exited before it was ready (code ${code}, signal ${signal})`)));
      child.on("message", (message: { type: string; jobId?: string }) => {
        if (message.type === "ready") resolve(worker);
        if (message.type === "done" && message.jobId) tally.add(message.jobId);
        onMessage?.(message);
      });
    });
  }

  async function setup() {
    const namespace = newNamespace();
    const integration = kafka({ brokers: KAFKA_BROKERS, queueTopicPrefix: `${namespace}.jobs`, groupId: namespace, backoffBaseMs: 50, ...FAST });
    await integration.start({ logger: testLogger().logger });
    cleanups.push(async () => {
      await integration.stop({ deadlineMs: 2_000 });
      if (process.env.KAFKA_TEST_KEEP !== "1") await deleteNamespace(namespace);
    });
    return { namespace, integration, queue: integration.modules.queue, task: `${namespace}.order` };
  }

  async function publishJobs(queue: ReturnType<typeof kafka>["modules"]["queue"], task: string, count: number, onProgress?: (published: number) => void): Promise<string[]> {
    const ids: string[] = [];
    for (let start = 0; start < count; start += 50) {
      const cards = await queue.publishBatch(Array.from({ length: Math.min(50, count - start) }, (_, i) => ({ task, payload: { n: start + i } })));
      ids.push(...cards.map((card) => card.id));
      onProgress?.(ids.length);
    }
    return ids;
  }

  it("broker restart loses no job", async () => {
    const { queue, task } = await setup();
    const tally = new Tally();
    queue.consume(task, async (job) => {
      tally.add(job.id);
    }, { concurrency: 8 });

    let restart: Promise<{ code: number | null; output: string }> | undefined;
    const ids = await publishJobs(queue, task, JOBS, (published) => {
      if (published >= 600 && restart === undefined) restart = restartKafka();
    });
    const restarted = await restart;
    expect(restarted?.code, `restart.sh failed:\n${restarted?.output}`).toBe(0);

    await tally.reach(JOBS, 120_000, ids);
    console.log(`broker restart: ${JOBS} jobs published, ${tally.counts.size} handled, ${tally.duplicates} handled more than once`);
    expect(ids.filter((id) => !tally.counts.has(id))).toEqual([]);
  }, 240_000);

  it("killed consumer loses no job", async () => {
    const { namespace, queue, task } = await setup();
    const tally = new Tally();
    const settings = { mode: "consume", prefix: `${namespace}.jobs`, groupId: namespace, task };
    const ids = await publishJobs(queue, task, JOBS);
    const [victim] = await Promise.all([startWorker(settings, tally), startWorker(settings, tally)]);

    await tally.reach(JOBS / 5, 60_000);
    victim!.child.kill("SIGKILL");
    await victim!.exited;
    const handledAtKill = tally.counts.size;

    await tally.reach(JOBS, 120_000, ids);
    console.log(`consumer SIGKILL after ${handledAtKill} jobs: ${JOBS} published, ${tally.counts.size} handled, ${tally.duplicates} handled more than once`);
    expect(handledAtKill).toBeLessThan(JOBS);
    expect(ids.filter((id) => !tally.counts.has(id))).toEqual([]);
  }, 240_000);

  it("exactly-once output survives SIGKILL before commit", async () => {
    const { namespace, integration, queue, task } = await setup();
    const resultsTopic = `${namespace}.results`;
    await integration.modules.queue.ensureTopics(task);
    const admin = rawKafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: resultsTopic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();

    const total = 30;
    const ids = await publishJobs(queue, task, total);
    const tally = new Tally();
    const settings = { mode: "exactly-once", prefix: `${namespace}.jobs`, groupId: namespace, task, resultsTopic };

    let hungJob: string | undefined;
    const produced = new Promise<void>((resolve) => {
      void startWorker({ ...settings, hangAfter: 5 }, tally, (message) => {
        if (message.type === "produced") {
          hungJob = message.jobId;
          resolve();
        }
      });
    });
    await produced;
    const victim = workers[0] as Worker;
    victim.child.kill("SIGKILL");
    await victim.exited;

    await startWorker(settings, tally);
    await tally.reach(total, 90_000, ids);

    const committed = await readResults(resultsTopic, `${namespace}.check-committed`, false, total);
    const counts = new Map<string, number>();
    for (const id of committed) counts.set(id, (counts.get(id) ?? 0) + 1);
    console.log(`exactly-once: killed while job ${hungJob} was produced but not committed; read_committed sees ${committed.length} results for ${counts.size} jobs`);
    expect([...counts.keys()].sort()).toEqual([...ids].sort());
    expect([...counts.entries()].filter(([, count]) => count !== 1)).toEqual([]);

    // The killed transaction's output is in the log, and only a read_uncommitted reader gets it.
    const everything = await readResults(resultsTopic, `${namespace}.check-uncommitted`, true, total + 1);
    expect(everything.filter((id) => id === hungJob).length).toBeGreaterThanOrEqual(2);
  }, 240_000);
});

/** Reads every result's job id from the start of `topic` until at least `atLeast` arrived and nothing more comes for 1 s. */
async function readResults(topic: string, groupId: string, readUncommitted: boolean, atLeast: number): Promise<string[]> {
  const consumer = rawKafka().consumer({ groupId, readUncommitted, maxWaitTimeInMs: 100 });
  const ids: string[] = [];
  const records: string[] = [];
  let lastAt = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const result = JSON.parse(String(message.value)) as { jobId: string; worker: number };
      ids.push(result.jobId);
      records.push(`${result.jobId} by ${result.worker} at ${message.offset}`);
      lastAt = Date.now();
    },
  });
  const deadline = Date.now() + 30_000;
  while ((ids.length < atLeast || Date.now() - lastAt < 1_000) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await consumer.disconnect();
  if (process.env.KAFKA_TEST_LOGS === "1") console.log(records.join("\n"));
  return ids;
}
