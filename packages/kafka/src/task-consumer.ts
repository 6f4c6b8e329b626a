// The buffered consumer of one task's topic in this process. It fetches
// records into memory per partition and hands them out as leases to
// `fetchBatch` callers and `consume` loops. A leased record goes to no other
// caller until its lease ends, and records with the same key go out one at a
// time, in offset order. Offsets are committed only up to the first record
// that is not done, so a crash delivers again and never skips.
import type { JobCard, Logger } from "@bridge/core";
import { decodeCard } from "./card.js";
import type { BatchControl, ClientConsumer, ConsumedBatch, ConsumedMessage, KafkaClient } from "./client.js";
import type { ResolvedOptions } from "./options.js";
import { errorMessage } from "./sender.js";
import type { TaskTopics } from "./topics.js";

/** `new` until the record is checked; `settling` while a retry, dead letter or reschedule is being sent. */
type EntryState = "new" | "ready" | "leased" | "settling" | "done";

export interface Entry {
  partition: number;
  offset: number;
  message: ConsumedMessage;
  /** The card as stored in the record; `attempts` there counts deliveries before this record was written. */
  card: JobCard;
  state: EntryState;
  /** Deliveries of this record in this process. */
  deliveries: number;
  leaseId?: string;
  leaseTimer?: NodeJS.Timeout;
  /** The partition state the entry belongs to; a revoked partition gets a new one. */
  owner: PartitionState;
}

/** A job handed out: the card with this delivery's attempt number, and the entry behind it. */
export interface HeldJob {
  job: JobCard;
  leaseId: string;
  entry: Entry;
}

interface PartitionState {
  partition: number;
  /** Entries by ascending offset; done ones leave from the front once committed. */
  entries: Entry[];
  /** The ready entries, by ascending offset. */
  ready: Entry[];
  /** Keys of entries that are leased or being settled, with how many; later entries with these keys wait. */
  heldKeys: Map<string, number>;
  /** Entries not done yet. */
  open: number;
  leased: number;
  /** Done entries not yet trimmed after a commit. */
  done: number;
  /** Offset after the last record received; records below it that come again after a rejoin are skipped. */
  received: number | undefined;
  /** Last offset committed or being committed. */
  committed: number;
  /** Called when the buffer of this partition drained enough to fetch again. */
  drained: Array<() => void>;
  revoked: boolean;
}

export interface TaskConsumerHooks {
  /** Settles a record that is not a valid job card of the task (dead-letters it). */
  deadLetterInvalid(message: ConsumedMessage, reason: string): Promise<void>;
  /** Moves a job whose scheduled time is still ahead to a retry topic. */
  reschedule(card: JobCard, message: ConsumedMessage): Promise<void>;
  /** Called when a lease runs out; returns whether the entry goes back to ready (else the hook settled it). */
  leaseExpired(held: HeldJob): Promise<"requeue" | "settled">;
}

/** Scheduled jobs due within this margin run at once instead of another trip through a retry topic. */
const EARLY_TOLERANCE_MS = 50;

export class TaskConsumer {
  private consumer: ClientConsumer | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  private readonly partitions = new Map<number, PartitionState>();
  private readonly leases = new Map<string, Entry>();
  private readonly listeners = new Set<() => void>();
  private commitRun: Promise<void> | undefined;
  private commitAgain = false;
  private commitScheduled = false;
  private rotation = 0;
  private leaseSequence = 0;
  /** Entries leased to `consume` loops, which run without a lease timer. */
  heldByConsumers = 0;

  constructor(
    private readonly client: () => KafkaClient,
    private readonly options: ResolvedOptions,
    readonly topics: TaskTopics,
    private readonly logger: () => Logger,
    private readonly instanceId: string,
    private readonly hooks: TaskConsumerHooks,
  ) {}

  /** Joins the task's group; later calls return the same promise. */
  start(): Promise<void> {
    if (this.starting === undefined) {
      this.consumer = this.client().consumer(
        // Each partition's batches run on their own, so one partition waiting for buffer room does not hold up the others.
        { groupId: this.topics.group, topics: [this.topics.main], fromBeginning: true, partitionsConsumedConcurrently: this.options.queuePartitions },
        {
          onBatch: (batch, control) => this.receive(batch, control),
          onAssign: (assignment) => this.assign(assignment.get(this.topics.main) ?? []),
          onSkip: (_topic, partition, nextOffset) => this.skipTo(partition, nextOffset),
          onCrash: (error, restarting) =>
            this.logger().warn("Kafka consumer of a task failed", { task: this.topics.task, group: this.topics.group, error: errorMessage(error), restarting }),
        },
      );
      this.starting = this.consumer.start().then(() => this.logger().info("joined consumer group", { task: this.topics.task, group: this.topics.group }));
      this.starting.catch(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  get started(): boolean {
    return this.starting !== undefined;
  }

  /** Counts for stats: records leased here, and done ones not yet committed. */
  counts(): { leased: number; done: number } {
    let leased = 0;
    let done = 0;
    for (const state of this.partitions.values()) {
      leased += state.leased;
      done += state.done;
    }
    return { leased, done };
  }

  /** Registers a callback for new ready records; returns the function that removes it. */
  onWork(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once ready records may be there, or after `ms`. */
  waitForWork(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const remove = this.onWork(done);
      function done(): void {
        clearTimeout(timer);
        remove();
        resolve();
      }
    });
  }

  /**
   * Leases up to `max` ready records, oldest first per partition, skipping a
   * key while an earlier record with that key is held. Without `leaseMs` the
   * lease never expires (a `consume` loop holds it until settled).
   */
  take(max: number, leaseMs: number | undefined): HeldJob[] {
    const taken: HeldJob[] = [];
    const count = this.partitions.size;
    if (count === 0) return taken;
    this.rotation = (this.rotation + 1) % count;

    let position = 0;
    for (const pass of [0, 1]) {
      // Two passes over the map start at the rotation point without copying it: from there to the end, then the rest.
      position = 0;
      for (const state of this.partitions.values()) {
        const inRange = pass === 0 ? position >= this.rotation : position < this.rotation;
        position += 1;
        if (!inRange) continue;
        this.takeFrom(state, max, leaseMs, taken);
        if (taken.length >= max) return taken;
      }
    }
    return taken;
  }

  /** Leases ready entries of one partition in offset order, skipping keys that are held. */
  private takeFrom(state: PartitionState, max: number, leaseMs: number | undefined, taken: HeldJob[]): void {
    let index = 0;
    while (index < state.ready.length && taken.length < max) {
      const entry = state.ready[index] as Entry;
      const key = entry.message.key;
      if (key !== null && state.heldKeys.has(key)) {
        index += 1;
        continue;
      }
      // Leasing removes the entry from the ready list, so the next one moves into this index.
      taken.push(this.lease(entry, leaseMs));
    }
  }

  /** Returns the entry of a lease this process still holds, or undefined when it expired, was settled or its partition moved. */
  held(leaseId: string): Entry | undefined {
    const entry = this.leases.get(leaseId);
    if (entry === undefined || entry.owner.revoked || entry.state !== "leased") return undefined;
    return entry;
  }

  /** Marks a held job done so its offset can be committed. Returns false when the lease is no longer held. */
  complete(leaseId: string): boolean {
    const entry = this.claim(leaseId);
    if (entry === undefined) return false;
    this.settled(entry);
    return true;
  }

  /**
   * Takes a held job out of its lease while the caller settles it elsewhere
   * (a retry or dead-letter send): no lease timer and no other caller can
   * touch it. Returns undefined when the lease is no longer held.
   */
  claim(leaseId: string): Entry | undefined {
    const entry = this.leases.get(leaseId);
    if (entry === undefined) return undefined;
    this.leases.delete(leaseId);
    if (entry.leaseTimer === undefined) this.heldByConsumers -= 1;
    clearTimeout(entry.leaseTimer);
    entry.leaseTimer = undefined;
    entry.leaseId = undefined;
    if (!this.owns(entry) || entry.state !== "leased") return undefined;
    this.setState(entry, "settling");
    return entry;
  }

  /** Marks a claimed entry done. */
  settled(entry: Entry): void {
    if (!this.owns(entry)) return;
    this.setState(entry, "done");
    this.afterSettle(entry.owner);
  }

  /** Puts a claimed entry back to ready, for another delivery in this process. */
  requeue(entry: Entry): void {
    if (!this.owns(entry)) return;
    this.setState(entry, "ready");
    this.notify();
  }

  private owns(entry: Entry): boolean {
    return !entry.owner.revoked && this.partitions.get(entry.partition) === entry.owner;
  }

  /** Leaves the group after committing what is done. Leased records are delivered again by the next owner. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const entry of this.leases.values()) clearTimeout(entry.leaseTimer);
    await this.commitNow().catch(() => undefined);
    await this.consumer?.stop();
    this.leases.clear();
    for (const state of this.partitions.values()) {
      state.revoked = true;
      for (const notify of state.drained.splice(0)) notify();
    }
    this.partitions.clear();
    this.notify();
  }

  private lease(entry: Entry, leaseMs: number | undefined): HeldJob {
    this.setState(entry, "leased");
    entry.deliveries += 1;
    this.leaseSequence += 1;
    const leaseId = `${this.instanceId}:${entry.partition}:${entry.offset}:${this.leaseSequence}`;
    entry.leaseId = leaseId;
    this.leases.set(leaseId, entry);
    const job: JobCard = { ...entry.card, attempts: entry.card.attempts + entry.deliveries };
    const held: HeldJob = { job, leaseId, entry };
    if (leaseMs === undefined) {
      this.heldByConsumers += 1;
    } else {
      entry.leaseTimer = setTimeout(() => void this.expire(held), leaseMs);
      entry.leaseTimer.unref?.();
    }
    return held;
  }

  private async expire(held: HeldJob): Promise<void> {
    if (this.leases.get(held.leaseId) !== held.entry || held.entry.owner.revoked) return;
    this.leases.delete(held.leaseId);
    held.entry.leaseTimer = undefined;
    held.entry.leaseId = undefined;
    this.setState(held.entry, "settling");
    let outcome: "requeue" | "settled";
    try {
      outcome = await this.hooks.leaseExpired(held);
    } catch (error) {
      this.logger().error("could not settle an expired lease; the job goes back to the queue", { task: this.topics.task, jobId: held.job.id, error: errorMessage(error) });
      outcome = "requeue";
    }
    if (held.entry.owner.revoked) return;
    this.setState(held.entry, outcome === "requeue" ? "ready" : "done");
    if (outcome === "settled") this.afterSettle(held.entry.owner);
    this.notify();
  }

  private partitionState(partition: number): PartitionState {
    let state = this.partitions.get(partition);
    if (state === undefined) {
      state = { partition, entries: [], ready: [], heldKeys: new Map(), open: 0, leased: 0, done: 0, received: undefined, committed: -1, drained: [], revoked: false };
      this.partitions.set(partition, state);
    }
    return state;
  }

  private assign(partitions: number[]): void {
    const keep = new Set(partitions);
    for (const [partition, state] of this.partitions) {
      if (keep.has(partition)) continue;
      // Another member owns the partition now and starts at the last commit, so the jobs still running here are delivered there again.
      state.revoked = true;
      for (const notify of state.drained.splice(0)) notify();
      this.partitions.delete(partition);
      const held = state.entries.filter((entry) => entry.state === "leased" || entry.state === "settling").length;
      this.logger().info("partition moved to another consumer", { task: this.topics.task, partition, jobsStillRunningHere: held });
    }
    for (const partition of partitions) this.partitionState(partition);
  }

  private skipTo(partition: number, nextOffset: number): void {
    const state = this.partitions.get(partition);
    if (state === undefined) return;
    if (state.received === undefined || nextOffset > state.received) state.received = nextOffset;
    this.scheduleCommit();
  }

  private async receive(batch: ConsumedBatch, control: BatchControl): Promise<void> {
    if (this.stopped) return;
    const state = this.partitionState(batch.partition);
    if (state.received === undefined) state.received = batch.fetchedOffset;

    let added = 0;
    const now = Date.now();
    for (const message of batch.messages) {
      // A rejoin starts again at the last commit; records already held or done here are skipped.
      if (message.offset < state.received) continue;
      state.received = message.offset + 1;

      const parsed = decodeCard(message.value, this.topics.task);
      const entry: Entry = {
        partition: batch.partition,
        offset: message.offset,
        message,
        card: parsed.ok ? parsed.job : (undefined as unknown as JobCard),
        state: "new",
        deliveries: 0,
        owner: state,
      };
      state.entries.push(entry);
      state.open += 1;
      if (!parsed.ok) {
        this.settleInBackground(entry, () => this.hooks.deadLetterInvalid(message, parsed.reason));
      } else if (parsed.job.scheduledFor !== null && Date.parse(parsed.job.scheduledFor) > now + EARLY_TOLERANCE_MS) {
        this.settleInBackground(entry, () => this.hooks.reschedule(parsed.job, message));
      } else {
        this.setState(entry, "ready");
        added += 1;
      }
    }
    if (batch.nextOffset > state.received) state.received = batch.nextOffset;

    if (added > 0) this.notify();
    this.scheduleCommit();

    // Backpressure: kafkajs fetches this partition again only after this returns, so a full buffer waits here
    // for jobs to finish. Heartbeats keep the membership, and a rebalance ends the wait by throwing.
    // (Pausing the partition instead stalls: kafkajs sleeps a whole fetch wait once every partition is paused.)
    while (state.open >= this.options.bufferPerPartition && !this.stopped && !state.revoked && control.isActive()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.options.heartbeatIntervalMs);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        state.drained.push(done);
      });
      await control.heartbeat();
    }
  }

  /** Runs `settle` until it succeeds, then marks the entry done; the entry is never handed out meanwhile. */
  private settleInBackground(entry: Entry, settle: () => Promise<void>): void {
    this.setState(entry, "settling");
    const attempt = (delayMs: number): void => {
      settle().then(
        () => {
          this.setState(entry, "done");
          this.afterSettle(entry.owner);
        },
        (error: unknown) => {
          if (this.stopped || entry.owner.revoked) return;
          this.logger().error("could not move a record off the task topic; trying again", {
            task: this.topics.task,
            partition: entry.partition,
            offset: entry.offset,
            error: errorMessage(error),
            retryInMs: delayMs,
          });
          setTimeout(() => attempt(Math.min(delayMs * 2, 30_000)), delayMs).unref?.();
        },
      );
    };
    attempt(500);
  }

  /** Moves an entry to another state and keeps the partition's ready list, held keys and counters in step. */
  private setState(entry: Entry, next: EntryState): void {
    const previous = entry.state;
    if (previous === next) return;
    const state = entry.owner;
    const key = entry.message.key;

    if (previous === "ready") removeSorted(state.ready, entry);
    if ((previous === "leased" || previous === "settling") && key !== null) {
      const count = (state.heldKeys.get(key) ?? 1) - 1;
      if (count === 0) state.heldKeys.delete(key);
      else state.heldKeys.set(key, count);
    }
    if (previous === "leased") state.leased -= 1;

    if (next === "ready") insertSorted(state.ready, entry);
    if ((next === "leased" || next === "settling") && key !== null) state.heldKeys.set(key, (state.heldKeys.get(key) ?? 0) + 1);
    if (next === "leased") state.leased += 1;
    if (next === "done") {
      state.done += 1;
      state.open -= 1;
    }
    entry.state = next;
  }

  private afterSettle(state: PartitionState): void {
    if (state.revoked) return;
    if (state.drained.length > 0 && state.open <= this.options.bufferPerPartition / 2) {
      for (const notify of state.drained.splice(0)) notify();
    }
    this.scheduleCommit();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Offset up to which everything is done: the first entry not done, or the end of what was received. */
  private frontier(state: PartitionState): number | undefined {
    for (const entry of state.entries) {
      if (entry.state !== "done") return entry.offset;
    }
    return state.received;
  }

  private scheduleCommit(): void {
    if (this.commitScheduled) return;
    this.commitScheduled = true;
    setImmediate(() => {
      this.commitScheduled = false;
      void this.commitNow().catch((error: unknown) => {
        this.logger().warn("offset commit failed; trying again in 1 s, and the records after the last commit may be delivered again", {
          task: this.topics.task,
          error: errorMessage(error),
        });
        // Without another job settling nothing would commit the done ones, so the commit is tried again.
        if (!this.stopped) setTimeout(() => this.scheduleCommit(), 1_000).unref?.();
      });
    });
  }

  /** Commits every partition's frontier; a request that arrives while a commit runs is folded into its next round. */
  private commitNow(): Promise<void> {
    if (this.commitRun !== undefined) {
      this.commitAgain = true;
      return this.commitRun;
    }
    this.commitRun = this.commitRounds().finally(() => {
      this.commitRun = undefined;
    });
    return this.commitRun;
  }

  private async commitRounds(): Promise<void> {
    do {
      this.commitAgain = false;
      const offsets: Array<{ topic: string; partition: number; offset: number }> = [];
      const previous = new Map<PartitionState, number>();
      for (const state of this.partitions.values()) {
        const frontier = this.frontier(state);
        if (frontier === undefined || frontier <= state.committed) continue;
        offsets.push({ topic: this.topics.main, partition: state.partition, offset: frontier });
        previous.set(state, state.committed);
        state.committed = frontier;
        // Done entries below the frontier are no longer needed.
        let trimmed = 0;
        while (trimmed < state.entries.length && (state.entries[trimmed] as Entry).offset < frontier) trimmed += 1;
        state.entries.splice(0, trimmed);
        state.done -= trimmed;
      }
      if (offsets.length === 0 || this.consumer === undefined) continue;
      try {
        await this.consumer.commit(offsets);
      } catch (error) {
        // The next round commits these partitions again.
        for (const [state, committed] of previous) state.committed = committed;
        throw error;
      }
    } while (this.commitAgain);
  }
}

/** Inserts an entry into a list sorted by offset; new records go at the end, so that is tried first. */
function insertSorted(list: Entry[], entry: Entry): void {
  const last = list[list.length - 1];
  if (last === undefined || last.offset < entry.offset) {
    list.push(entry);
    return;
  }
  list.splice(findIndex(list, entry.offset), 0, entry);
}

function removeSorted(list: Entry[], entry: Entry): void {
  const first = list[0];
  if (first === entry) {
    list.shift();
    return;
  }
  const index = findIndex(list, entry.offset);
  if (list[index] === entry) list.splice(index, 1);
}

/** Index of the first entry whose offset is at least `offset`. */
function findIndex(list: Entry[], offset: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((list[middle] as Entry).offset < offset) low = middle + 1;
    else high = middle;
  }
  return low;
}
