// The dead letters of one task, read from `<main>.dlq` into memory. A Kafka
// topic cannot delete single records, so replay and purge append markers:
// a `replayed` marker removes the dead letter with its id, a `purged` marker
// removes everything before it. Every process reads the whole topic from its
// start with a consumer group of its own and never commits.
import type { DeadLetter, DeadLetterReason, JobCard, Logger, SerializedError } from "@bridge/core";
import { decodeCard, HEADER } from "./card.js";
import type { ClientConsumer, ConsumedBatch, ConsumedMessage, KafkaClient } from "./client.js";
import { kafkaError } from "./options.js";
import type { Sender } from "./sender.js";
import { errorMessage } from "./sender.js";
import type { TaskTopics } from "./topics.js";

const REASONS: ReadonlySet<string> = new Set(["max-attempts", "non-retryable", "invalid-job-card", "handler-timeout"]);
/** Maximum wait for the reader to catch up with the topic, in ms. */
const SYNC_TIMEOUT_MS = 15_000;

interface Stored {
  letter: DeadLetter;
  offset: number;
}

export class DeadLetterStore {
  private consumer: ClientConsumer | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  /** Dead letters by id, in the order they were read. */
  private readonly letters = new Map<string, Stored>();
  /** Offset after the last record read, per partition. */
  private readonly position = new Map<number, number>();
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly client: () => KafkaClient,
    private readonly sender: Sender,
    readonly topics: TaskTopics,
    private readonly groupId: string,
    private readonly logger: () => Logger,
  ) {}

  start(): Promise<void> {
    if (this.starting === undefined) {
      this.consumer = this.client().consumer(
        // NOTE: every dead letter of the task is kept in memory in each process that reads them.
        { groupId: this.groupId, topics: [this.topics.deadLetter], fromBeginning: true },
        {
          onBatch: async (batch) => this.read(batch),
          onSkip: (_topic, partition, nextOffset) => this.advance(partition, nextOffset),
          onCrash: (error, restarting) =>
            this.logger().warn("Kafka consumer of a dead-letter topic failed", { task: this.topics.task, error: errorMessage(error), restarting }),
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
    await this.consumer?.stop();
  }

  /** Waits until every record written to the topic so far has been read, then returns the dead letters oldest first. */
  async list(): Promise<DeadLetter[]> {
    await this.sync();
    return [...this.letters.values()].map((stored) => stored.letter);
  }

  /** Records the removal of dead letters by id, after the caller republished their jobs. */
  async markReplayed(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.sender.send(
      ids.map((id) => ({ topic: this.topics.deadLetter, key: id, value: null, headers: { [HEADER.control]: "replayed", [HEADER.id]: id }, partition: 0 })),
      "queue",
    );
    for (const id of ids) this.letters.delete(id);
  }

  /** Removes every dead letter read so far and returns how many. */
  async purge(): Promise<number> {
    await this.sync();
    const count = this.letters.size;
    await this.sender.send([{ topic: this.topics.deadLetter, key: "purge", value: null, headers: { [HEADER.control]: "purged" }, partition: 0 }], "queue");
    this.letters.clear();
    return count;
  }

  private async sync(): Promise<void> {
    await this.start();
    const offsets = await this.client().admin.topicOffsets(this.topics.deadLetter);
    const deadline = Date.now() + SYNC_TIMEOUT_MS;
    for (;;) {
      const behind = offsets.filter(({ partition, low, high }) => (this.position.get(partition) ?? low) < high);
      if (behind.length === 0) return;
      if (Date.now() > deadline || this.stopped) {
        throw kafkaError(
          `Reading dead-letter topic "${this.topics.deadLetter}" did not reach its end within ${SYNC_TIMEOUT_MS} ms. Check that the brokers are reachable and try again.`,
          "TIMEOUT",
          "queue",
          { retryable: true, details: { topic: this.topics.deadLetter } },
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 100);
        const waiters = this.waiters;
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }

  private advance(partition: number, nextOffset: number): void {
    if (nextOffset > (this.position.get(partition) ?? -1)) this.position.set(partition, nextOffset);
    for (const notify of [...this.waiters]) notify();
  }

  private read(batch: ConsumedBatch): void {
    for (const message of batch.messages) this.apply(message);
    this.advance(batch.partition, batch.nextOffset);
  }

  private apply(message: ConsumedMessage): void {
    const control = message.headers[HEADER.control];
    if (control === "replayed") {
      this.letters.delete(message.headers[HEADER.id] ?? message.key ?? "");
      return;
    }
    if (control === "purged") {
      for (const [id, stored] of this.letters) if (stored.offset < message.offset) this.letters.delete(id);
      return;
    }
    const letter = readDeadLetter(this.topics.task, message);
    // A job dead-lettered again after a replay replaces its earlier entry and moves to the end.
    this.letters.delete(letter.id);
    this.letters.set(letter.id, { letter, offset: message.offset });
  }
}

/** Rebuilds a DeadLetter from a record of the dead-letter topic. */
export function readDeadLetter(task: string, message: ConsumedMessage): DeadLetter {
  const headers = message.headers;
  const parsed = decodeCard(message.value, task);
  const job: JobCard | null = parsed.ok ? parsed.job : null;
  const reasonHeader = headers[HEADER.reason];
  let reason: DeadLetterReason = parsed.ok ? "non-retryable" : "invalid-job-card";
  if (reasonHeader !== undefined && REASONS.has(reasonHeader)) reason = reasonHeader as DeadLetterReason;

  let error: SerializedError | undefined;
  const rawError = headers[HEADER.error];
  if (rawError !== undefined) {
    try {
      error = JSON.parse(rawError) as SerializedError;
    } catch {
      error = { name: "Error", message: rawError };
    }
  } else if (!parsed.ok) {
    error = { name: "InvalidJobCard", code: "INVALID_JOB_CARD", message: `Not a valid job card: ${parsed.reason}` };
  }

  const attempts = Number(headers[HEADER.attempts] ?? job?.attempts ?? 0);
  return {
    id: headers[HEADER.id] ?? job?.id ?? message.key ?? `${message.partition}-${message.offset}`,
    task,
    reason,
    job,
    // NOTE: bytes that are not valid UTF-8 are kept with U+FFFD replacement characters, so the original bytes are not recoverable here.
    ...(job === null ? { raw: message.value === null ? "" : message.value.toString("utf8") } : {}),
    ...(error !== undefined ? { error } : {}),
    attempts: Number.isFinite(attempts) ? attempts : 0,
    deadAt: headers[HEADER.deadAt] ?? new Date(message.timestamp).toISOString(),
  };
}
