// Deliberately broken queues. kit-can-fail.test.ts runs this file in a child
// vitest and expects the named cases to fail; the normal run excludes it.
import { createMemoryQueue, type JobCard, type PublishBatchItem, type PublishOptions, type QueueRole } from "@bridge/core";
import { quietLogger, runQueueSuite } from "../../src/index.js";

const CAPABILITIES = { priority: true, delay: true, orderingByKey: false, replayFromOffset: false, persistent: false, idempotentPublish: true };

function memoryQueue(leaseMs: number, backoffBaseMs: number) {
  return createMemoryQueue({ defaultLeaseMs: leaseMs, backoff: { baseMs: backoffBaseMs, maxMs: 60_000 }, logger: quietLogger() });
}

/** Accepts every publish but puts only four of each five on the queue. */
function dropsEveryFifth(queue: QueueRole): QueueRole {
  let published = 0;
  const publish = async <P>(task: string, payload: P, options?: PublishOptions): Promise<JobCard<P>> => {
    published += 1;
    if (published % 5 !== 0) return queue.publish(task, payload, options);
    // The job goes to a task that no consumer fetches, while the caller gets a card that looks right.
    const card = await queue.publish(`${task}.void`, payload, options);
    return { ...card, task };
  };
  return Object.assign(Object.create(queue) as QueueRole, {
    capabilities: queue.capabilities,
    publish,
    publishBatch: async (items: PublishBatchItem[]) => {
      const cards: JobCard[] = [];
      for (const item of items) cards.push(await publish(item.task, item.payload, item.options));
      return cards;
    },
  });
}

/** Declares priority but publishes every job at the default priority. */
function ignoresPriority(queue: QueueRole): QueueRole {
  return Object.assign(Object.create(queue) as QueueRole, {
    capabilities: queue.capabilities,
    publish: <P>(task: string, payload: P, options?: PublishOptions) => queue.publish(task, payload, { ...options, priority: undefined }),
  });
}

// Keeps the kit's default waits, which vitest.broken.config.ts pairs with vitest's default
// test timeout, so the failures must come from the kit's checks and not from a timeout.
runQueueSuite({
  provider: "drops-every-fifth",
  capabilities: CAPABILITIES,
  create: async (_namespace, { leaseMs, backoffBaseMs }) => ({ queue: dropsEveryFifth(memoryQueue(leaseMs, backoffBaseMs)) }),
});

runQueueSuite({
  provider: "ignores-priority",
  capabilities: CAPABILITIES,
  timeoutMs: 1_000,
  create: async (_namespace, { leaseMs, backoffBaseMs }) => ({ queue: ignoresPriority(memoryQueue(leaseMs, backoffBaseMs)) }),
});

// Declares no ordering by key to the kit while the role claims it.
runQueueSuite({
  provider: "misdeclared",
  capabilities: { ...CAPABILITIES, orderingByKey: false },
  timeoutMs: 1_000,
  create: async (_namespace, { leaseMs, backoffBaseMs }) => {
    const queue = memoryQueue(leaseMs, backoffBaseMs);
    return { queue: Object.assign(Object.create(queue) as QueueRole, { capabilities: { ...queue.capabilities, orderingByKey: true } }) };
  },
});
