import { createMemoryQueue } from "@bridge/core";
import { quietLogger, runQueueSuite } from "../../src/index.js";

runQueueSuite({
  provider: "embedded",
  capabilities: { priority: true, delay: true, orderingByKey: false, replayFromOffset: false, persistent: false, idempotentPublish: true },
  create: async (_namespace, { leaseMs, backoffBaseMs }) => {
    // The invalid-job-card and retry cases make the queue log errors on purpose; they stay in memory.
    const queue = createMemoryQueue({ defaultLeaseMs: leaseMs, backoff: { baseMs: backoffBaseMs, maxMs: 60_000 }, logger: quietLogger() });
    return {
      queue,
      injectRaw: async (task, raw) => queue.injectRaw(task, raw),
    };
  },
});
