// Names and declarations of the server objects of the queue role. Per task:
// a work queue bound to the direct exchange `<prefix>.jobs` by the task name,
// a dead-letter queue `<work>.dlq` bound to `<prefix>.dlx`, and one wait queue
// `<work>.wait.<ms>` per delay level whose messages expire back into the jobs exchange.
import type { Channel } from "amqplib";
import { errorMessage } from "./connection.js";
import { rabbitError } from "./options.js";

export interface TaskQueueNames {
  jobsExchange: string;
  deadLetterExchange: string;
  work: string;
  deadLetter: string;
  /** Wait queue name by delay level in ms. */
  wait: Map<number, string>;
}

/** Returns the exchange and queue names the queue role uses for `task` under `prefix`. */
export function taskQueueNames(prefix: string, task: string, delayLevelsMs: readonly number[]): TaskQueueNames {
  const work = `${prefix}.${task}`;
  return {
    jobsExchange: `${prefix}.jobs`,
    deadLetterExchange: `${prefix}.dlx`,
    work,
    deadLetter: `${work}.dlq`,
    wait: new Map(delayLevelsMs.map((ms) => [ms, `${work}.wait.${ms}`])),
  };
}

/** Highest AMQP priority of classic work queues: job priorities 1 to 10 map onto it one to one. */
export const MAX_PRIORITY = 10;

/**
 * Declares the exchanges and queues of one task. Declaring is idempotent, so
 * this runs again after every reconnect. A queue that already exists with other
 * arguments (for example classic versus quorum) fails with a CONFLICT error that names the queue.
 */
export async function declareTask(channel: Channel, names: TaskQueueNames, task: string, quorum: boolean): Promise<void> {
  await channel.assertExchange(names.jobsExchange, "direct", { durable: true });
  await channel.assertExchange(names.deadLetterExchange, "direct", { durable: true });

  const typeArguments: Record<string, unknown> = quorum ? { "x-queue-type": "quorum" } : { "x-max-priority": MAX_PRIORITY };
  await assertQueue(channel, names.work, {
    ...typeArguments,
    // Messages the broker itself rejects (a quorum delivery limit, a policy) still reach the dead-letter queue.
    "x-dead-letter-exchange": names.deadLetterExchange,
    "x-dead-letter-routing-key": task,
  });
  await channel.bindQueue(names.work, names.jobsExchange, task);

  await assertQueue(channel, names.deadLetter, quorum ? { "x-queue-type": "quorum" } : {});
  await channel.bindQueue(names.deadLetter, names.deadLetterExchange, task);

  // Wait queues stay classic: every message in one has the same TTL, so the head always expires first.
  for (const [ms, name] of names.wait) {
    await assertQueue(channel, name, {
      "x-message-ttl": ms,
      "x-dead-letter-exchange": names.jobsExchange,
      "x-dead-letter-routing-key": task,
    });
  }
}

async function assertQueue(channel: Channel, name: string, args: Record<string, unknown>): Promise<void> {
  try {
    await channel.assertQueue(name, { durable: true, arguments: args });
  } catch (error) {
    const code = (error as { code?: number }).code;
    if (code === 406) {
      throw rabbitError(
        `Queue "${name}" already exists with other arguments than ${JSON.stringify(args)} (${errorMessage(error)}). ` +
          "Delete the queue, or set RABBITMQ_QUORUM_QUEUES and RABBITMQ_QUEUE_PREFIX to the values it was created with.",
        "CONFLICT",
        "queue",
        { cause: error },
      );
    }
    throw error;
  }
}

/** Picks the wait queue level for a delay: the largest level not above it, or the smallest level for shorter delays. */
export function pickDelayLevel(delayMs: number, levels: readonly number[]): number {
  let chosen = levels[0] ?? 0;
  for (const level of levels) {
    if (level <= delayMs) chosen = level;
  }
  return chosen;
}
