// Reads a topic from a chosen start for the logs and notifications
// subscribers. A subscriber without a group gets a consumer group of its own
// that never commits, and it resumes from its last position after a restart.
// A group commits after each batch, so its members share the stream.
import type { Logger } from "@bridge/core";
import type { ClientConsumer, ConsumedBatch, ConsumedMessage, KafkaClient } from "./client.js";
import { errorMessage } from "./sender.js";

export interface StreamReaderSpec {
  groupId: string;
  topic: string;
  /** Start of each partition: the end of the topic now, or the first record at or after a time (epoch ms). */
  from: "now" | number;
  /** Commit after each batch, so that other members of the group continue from here. Partitions the group committed before keep their position unless `from` is a time. */
  shared: boolean;
  onMessage(message: ConsumedMessage): Promise<void>;
}

export class StreamReader {
  private consumer: ClientConsumer | undefined;
  /** Next offset to deliver per partition, where this reader decides the position rather than the group's commits. */
  private readonly expected = new Map<number, number>();
  private stopped = false;

  constructor(
    private readonly client: () => KafkaClient,
    private readonly spec: StreamReaderSpec,
    private readonly logger: () => Logger,
  ) {}

  /** Records the start positions, then joins the group; resolves after the first join. */
  async start(): Promise<void> {
    const admin = this.client().admin;
    const starts = this.spec.from === "now" ? (await admin.topicOffsets(this.spec.topic)).map(({ partition, high }) => ({ partition, offset: high })) : await admin.offsetsForTime(this.spec.topic, this.spec.from);
    let keepCommitted = new Set<number>();
    if (this.spec.shared && this.spec.from === "now") {
      const committed = await admin.committedOffsets(this.spec.groupId, this.spec.topic);
      keepCommitted = new Set(committed.filter((entry) => entry.offset >= 0).map((entry) => entry.partition));
    }
    for (const { partition, offset } of starts) {
      if (!keepCommitted.has(partition)) this.expected.set(partition, offset);
    }

    this.consumer = this.client().consumer(
      { groupId: this.spec.groupId, topics: [this.spec.topic], fromBeginning: false },
      {
        onAssign: (assignment) => {
          // Seeking here, inside the join, comes before the first fetch of the new assignment.
          for (const partition of assignment.get(this.spec.topic) ?? []) {
            const offset = this.expected.get(partition);
            if (offset !== undefined) this.consumer?.seek(this.spec.topic, partition, offset);
          }
        },
        onBatch: (batch) => this.deliver(batch),
        onSkip: (_topic, partition, nextOffset) => {
          // Transaction markers and aborted records move the position without a batch.
          const offset = this.expected.get(partition);
          if (offset !== undefined && nextOffset > offset) this.expected.set(partition, nextOffset);
        },
        onCrash: (error, restarting) => this.logger().warn("Kafka stream consumer failed", { topic: this.spec.topic, group: this.spec.groupId, error: errorMessage(error), restarting }),
      },
    );
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.consumer?.stop();
  }

  private async deliver(batch: ConsumedBatch): Promise<void> {
    if (this.stopped) return;
    const expected = this.expected.get(batch.partition);
    if (expected !== undefined && batch.fetchedOffset > expected) {
      // The fetch started past the chosen start (the join raced the seek): go back and drop this batch.
      this.consumer?.seek(batch.topic, batch.partition, expected);
      return;
    }
    for (const message of batch.messages) {
      if (this.stopped) return;
      if (expected !== undefined && message.offset < expected) continue;
      await this.spec.onMessage(message);
    }
    if (this.spec.shared) {
      // From here the group's commits decide where any member continues.
      this.expected.delete(batch.partition);
      await this.consumer?.commit([{ topic: batch.topic, partition: batch.partition, offset: batch.nextOffset }]);
    } else {
      this.expected.set(batch.partition, batch.nextOffset);
    }
  }
}
