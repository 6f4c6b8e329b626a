// Names of the topics and consumer groups the roles use, and topic creation
// that runs once per topic per process.
import { ValidationError } from "@bridge/core";
import type { ClientAdmin, TopicSpec } from "./client.js";
import type { ResolvedOptions } from "./options.js";

export interface RetryLevel {
  delayMs: number;
  topic: string;
}

/** Topic and consumer group names of one task. */
export interface TaskTopics {
  task: string;
  /** `<prefix>.<task>`: the jobs ready to run. */
  main: string;
  /** `<main>.retry.<delay>`, shortest delay first: jobs waiting for a retry or their scheduled time. */
  retry: RetryLevel[];
  /** `<main>.dlq`: dead letters and the markers that replay or purge them. */
  deadLetter: string;
  /** `<groupId>.<task>`: the workers of the task. */
  group: string;
  /** `<groupId>.<task>.retry`: the consumers that move due jobs from the retry topics back to `main`. */
  retryGroup: string;
}

/** Kafka's limit on topic names. */
const MAX_TOPIC_LENGTH = 249;

/** Writes a delay as the shortest exact unit: 100ms, 1s, 10s, 1m, 1h. */
export function formatDelay(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

export function taskTopics(options: Pick<ResolvedOptions, "queueTopicPrefix" | "groupId" | "retryLevelsMs">, task: string): TaskTopics {
  const main = `${options.queueTopicPrefix}.${task}`;
  const retry = options.retryLevelsMs.map((delayMs) => ({ delayMs, topic: `${main}.retry.${formatDelay(delayMs)}` }));
  const longest = retry.reduce((max, level) => Math.max(max, level.topic.length), `${main}.dlq`.length);
  if (longest > MAX_TOPIC_LENGTH) {
    throw new ValidationError(
      `[@bridge/kafka] Task name "${task}" makes topic names of ${longest} characters, over Kafka's limit of ${MAX_TOPIC_LENGTH}: ` +
        `use a task name of at most ${task.length - (longest - MAX_TOPIC_LENGTH)} characters or a shorter KAFKA_QUEUE_TOPIC prefix.`,
      { role: "queue", integration: "kafka", details: { task, longest } },
    );
  }
  return {
    task,
    main,
    retry,
    deadLetter: `${main}.dlq`,
    group: `${options.groupId}.${task}`,
    retryGroup: `${options.groupId}.${task}.retry`,
  };
}

/** Picks the retry level to wait in: the longest delay that does not pass `waitMs`, or the shortest level. */
export function pickRetryLevel(levels: RetryLevel[], waitMs: number): RetryLevel {
  let chosen = levels[0] as RetryLevel;
  for (const level of levels) {
    if (level.delayMs <= waitMs) chosen = level;
  }
  return chosen;
}

/** Creates topics on first use and remembers which exist, so each is created once per process. */
export class TopicRegistry {
  private readonly created = new Map<string, Promise<void>>();

  constructor(
    private readonly admin: () => ClientAdmin,
    private readonly options: ResolvedOptions,
  ) {}

  /** Creates the topics of `specs` that this process has not created or seen yet. */
  ensure(specs: TopicSpec[]): Promise<void> {
    const missing = specs.filter((spec) => !this.created.has(spec.topic));
    if (missing.length > 0) {
      const pending = this.admin().createTopics(missing);
      for (const spec of missing) {
        this.created.set(spec.topic, pending);
        // A failed creation is tried again on the next call.
        pending.catch(() => {
          if (this.created.get(spec.topic) === pending) this.created.delete(spec.topic);
        });
      }
    }
    return Promise.all(specs.map((spec) => this.created.get(spec.topic))).then(() => undefined);
  }

  /** Forgets topics, for callers that deleted them. */
  forget(topics: string[]): void {
    for (const topic of topics) this.created.delete(topic);
  }

  taskSpecs(topics: TaskTopics): TopicSpec[] {
    const queueConfig = { "cleanup.policy": "delete", "retention.ms": String(this.options.queueRetentionMs) };
    return [
      { topic: topics.main, partitions: this.options.queuePartitions, replicationFactor: this.options.replicationFactor, config: queueConfig },
      ...topics.retry.map((level) => ({
        topic: level.topic,
        partitions: this.options.queuePartitions,
        replicationFactor: this.options.replicationFactor,
        config: queueConfig,
      })),
      // One partition keeps dead letters and their replay and purge markers in one order.
      {
        topic: topics.deadLetter,
        partitions: 1,
        replicationFactor: this.options.replicationFactor,
        config: { "cleanup.policy": "delete", "retention.ms": String(this.options.deadLetterRetentionMs) },
      },
    ];
  }

  streamSpec(topic: string, retentionMs: number): TopicSpec {
    return {
      topic,
      partitions: this.options.queuePartitions,
      replicationFactor: this.options.replicationFactor,
      config: { "cleanup.policy": "delete", "retention.ms": String(retentionMs) },
    };
  }
}
