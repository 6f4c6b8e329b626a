// Restarts the local RabbitMQ in the middle of 2,000 publishes and consumes,
// then checks that every job completed and prints how many ran twice.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { rabbitmq } from "../src/index.js";
import { deleteTopology, describeWithRabbitMQ, RABBITMQ_URL, testLogger } from "./helpers.js";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const TOTAL = 2_000;

function restartRabbitMQ(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["scripts/services/restart.sh", "rabbitmq"], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("close", (code) => resolve({ code, output }));
  });
}

describeWithRabbitMQ("fault: broker restart mid-run", () => {
  it(
    "completes every job across a restart",
    async () => {
      const prefix = `fault${Date.now().toString(36)}`;
      const task = "order.place";
      const { logger, lines } = testLogger();
      const integration = rabbitmq({ url: RABBITMQ_URL, queuePrefix: prefix, reconnectMaxDelayMs: 1_000, backoffBaseMs: 50 });
      await integration.start({ logger });
      const queue = integration.modules.queue;

      const handled = new Map<number, number>();
      const consumer = queue.consume<{ n: number }>(
        task,
        async (job) => {
          handled.set(job.payload.n, (handled.get(job.payload.n) ?? 0) + 1);
        },
        { concurrency: 8 },
      );

      let restart: Promise<{ code: number | null; output: string }> | undefined;
      let healthDuringOutage: string | undefined;
      try {
        // Publish in chunks; the restart starts once a quarter is published, so publishes meet the outage.
        for (let start = 0; start < TOTAL; start += 50) {
          const chunk = Array.from({ length: Math.min(50, TOTAL - start) }, (_, i) => ({ task, payload: { n: start + i } }));
          if (start >= TOTAL / 4 && restart === undefined) {
            restart = restartRabbitMQ();
            // Health turns degraded once the connection drops.
            const deadline = Date.now() + 30_000;
            while (Date.now() < deadline) {
              const report = await integration.health();
              if (report.status !== "up") {
                healthDuringOutage = report.status;
                break;
              }
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          }
          await queue.publishBatch(chunk);
        }

        const result = await restart;
        expect(result?.code, `restart.sh output:\n${result?.output}`).toBe(0);
        expect(healthDuringOutage).toBe("degraded");

        const deadline = Date.now() + 90_000;
        while (handled.size < TOTAL && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));

        const missing = Array.from({ length: TOTAL }, (_, n) => n).filter((n) => !handled.has(n));
        expect(missing, "jobs never handled").toEqual([]);
        const twice = [...handled.values()].filter((count) => count > 1).length;
        console.log(`fault test: ${TOTAL} jobs completed across a RabbitMQ restart; ${twice} delivered more than once`);
        expect(lines.some((line) => line.includes("reconnected to RabbitMQ")), "the log must record the reconnect").toBe(true);
        expect((await integration.health()).status).toBe("up");
      } finally {
        await consumer.stop({ drainMs: 2_000 });
        await integration.stop({ deadlineMs: 2_000 });
        await deleteTopology(prefix, [task]);
      }
    },
    180_000,
  );
});
