// Moves jobs from a task's retry topics back to its main topic when they are
// due. Each retry topic keeps records for a fixed delay, so records in one
// partition come due in offset order. The forwarder pauses the partition
// until the head record's time, then republishes it. A record whose delay
// level passed before its due time moves on to the level that fits the rest.
import type { Logger } from "@bridge/core";
import { HEADER } from "./card.js";
import type { BatchControl, ClientConsumer, ConsumedBatch, ConsumedMessage, KafkaClient, ProduceRecord } from "./client.js";
import type { Sender } from "./sender.js";
import { errorMessage } from "./sender.js";
import { pickRetryLevel, type RetryLevel, type TaskTopics } from "./topics.js";

/** A job due within this margin goes back to the main topic instead of waiting in another level. */
const DUE_TOLERANCE_MS = 5;

/** Builds the record that parks `value` in the retry level fitting `dueAt`. */
export function retryRecord(topics: TaskTopics, value: Buffer, key: string | null, dueAt: number, now = Date.now()): ProduceRecord {
  const level = pickRetryLevel(topics.retry, dueAt - now);
  return { topic: level.topic, key, value, headers: { [HEADER.dueAt]: String(dueAt) } };
}

export class RetryForwarder {
  private consumer: ClientConsumer | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private readonly levels: Map<string, RetryLevel>;

  constructor(
    private readonly client: () => KafkaClient,
    private readonly sender: Sender,
    readonly topics: TaskTopics,
    private readonly logger: () => Logger,
  ) {
    this.levels = new Map(topics.retry.map((level) => [level.topic, level]));
  }

  start(): Promise<void> {
    if (this.starting === undefined) {
      this.consumer = this.client().consumer(
        { groupId: this.topics.retryGroup, topics: this.topics.retry.map((level) => level.topic), fromBeginning: true, autoResolve: false },
        {
          onBatch: (batch, control) => this.forward(batch, control),
          onCrash: (error, restarting) =>
            this.logger().warn("Kafka consumer of retry topics failed", { task: this.topics.task, group: this.topics.retryGroup, error: errorMessage(error), restarting }),
        },
      );
      this.starting = this.consumer.start();
      this.starting.catch(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    await this.consumer?.stop();
  }

  private async forward(batch: ConsumedBatch, control: BatchControl): Promise<void> {
    const level = this.levels.get(batch.topic);
    if (level === undefined || this.stopped) return;

    const due: Array<{ message: ConsumedMessage; record: ProduceRecord }> = [];
    let wakeAt: number | undefined;
    const now = Date.now();
    for (const message of batch.messages) {
      const dueAt = Number(message.headers[HEADER.dueAt] ?? 0);
      const leaveAt = Math.min(dueAt, message.timestamp + level.delayMs);
      if (leaveAt > now) {
        wakeAt = leaveAt;
        break;
      }
      due.push({ message, record: this.nextHop(message, dueAt, now) });
    }

    if (due.length > 0) {
      await this.sender.send(
        due.map((item) => item.record),
        "queue",
      );
      const last = due[due.length - 1] as { message: ConsumedMessage };
      control.resolveOffset(last.message.offset);
      await this.consumer?.commit([{ topic: batch.topic, partition: batch.partition, offset: last.message.offset + 1 }]);
    }

    if (wakeAt !== undefined && control.isActive()) {
      // The record at the head is not due: stop fetching this partition until it is. Fetching resumes at that record.
      control.pause();
      const timer = setTimeout(() => {
        this.resumeTimers.delete(timer);
        if (!this.stopped) this.consumer?.resume(batch.topic, [batch.partition]);
      }, Math.max(1, wakeAt - Date.now()));
      this.resumeTimers.add(timer);
    }
  }

  /** The main topic when the job is due, else the retry level that fits the time left. */
  private nextHop(message: ConsumedMessage, dueAt: number, now: number): ProduceRecord {
    if (dueAt <= now + DUE_TOLERANCE_MS) {
      const headers = { ...message.headers };
      delete headers[HEADER.dueAt];
      return { topic: this.topics.main, key: message.key, value: message.value, headers };
    }
    return retryRecord(this.topics, message.value ?? Buffer.alloc(0), message.key, dueAt, now);
  }
}
