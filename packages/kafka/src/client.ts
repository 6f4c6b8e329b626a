// The few Kafka operations the roles need, behind one interface, so that a
// client other than kafkajs (such as @confluentinc/kafka-javascript) can
// replace it without touching the roles. `createKafkajsClient` is the only
// implementation today.
import SnappyCodec from "kafkajs-snappy";
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaConfig, KafkaMessage, LogEntry as KafkajsLogEntry, Producer, SASLOptions } from "kafkajs";
import { createResiliencePolicy, type Logger } from "@bridge/core";
import { loadKafkajs } from "./kafkajs-loader.js";
import type { CompressionType, ResolvedOptions } from "./options.js";

/** kafkajs, loaded on first use (see kafkajs-loader.ts). */
function kafkajs() {
  return loadKafkajs().kafkajs;
}

/** One record to produce. A string value is sent as UTF-8; null is a tombstone. */
export interface ProduceRecord {
  topic: string;
  key?: string | null;
  value: Buffer | string | null;
  headers?: Record<string, string>;
  partition?: number;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read, as Kafka commits it (last processed offset + 1). */
  offset: number;
}

/** A record as a consumer receives it. Header values are decoded as UTF-8. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Epoch ms: the producer's create time, or the broker's append time on topics configured for it. */
  timestamp: number;
}

/** The records of one partition from one fetch. */
export interface ConsumedBatch {
  topic: string;
  partition: number;
  /** Offset the fetch started at. */
  fetchedOffset: number;
  /** Offset after the last record of the fetch, control records and aborted transactions included. */
  nextOffset: number;
  highWatermark: number;
  messages: ConsumedMessage[];
}

export interface BatchControl {
  /** Moves this consumer's fetch position past `offset` (used with `autoResolve: false`). */
  resolveOffset(offset: number): void;
  /** Stops fetching this partition until `resume`. */
  pause(): void;
  /** False once the consumer is stopping, or when a seek made the rest of the batch stale. */
  isActive(): boolean;
  heartbeat(): Promise<void>;
}

export interface ConsumerSpec {
  groupId: string;
  topics: string[];
  /** Start position of a group without committed offsets: true for the earliest record, false for the end. */
  fromBeginning: boolean;
  /** Read only committed transactional records (read_committed). Default true. */
  readCommitted?: boolean;
  /** Move the fetch position past the whole batch once `onBatch` returns. Default true. */
  autoResolve?: boolean;
  /** Partitions whose batches run at the same time. Default 1. */
  partitionsConsumedConcurrently?: number;
}

export interface ConsumerHandlers {
  onBatch(batch: ConsumedBatch, control: BatchControl): Promise<void>;
  /** Called after every join of the group with this member's partitions per topic. */
  onAssign?(assignment: Map<string, number[]>): void;
  /** Called when the fetch position moved over records that never reach `onBatch` (transaction markers, aborted records). */
  onSkip?(topic: string, partition: number, nextOffset: number): void;
  /** Called when the consumer failed; `restarting` is true when it rejoins by itself. */
  onCrash?(error: Error, restarting: boolean): void;
}

export interface ClientConsumer {
  readonly groupId: string;
  /** Connects, subscribes and joins the group; resolves after the first join attempt. */
  start(): Promise<void>;
  /** Commits offsets for this member's group generation. */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Moves the fetch position of an assigned partition; applied before the next fetch. */
  seek(topic: string, partition: number, offset: number): void;
  pause(topic: string, partitions: number[]): void;
  resume(topic: string, partitions: number[]): void;
  /** Leaves the group and closes the consumer's connections. */
  stop(): Promise<void>;
}

export interface ClientTransaction {
  send(records: ProduceRecord[]): Promise<void>;
  /** Commits consumer offsets as part of the transaction. */
  sendOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TransactionalProducer {
  readonly transactionalId: string;
  begin(): Promise<ClientTransaction>;
  close(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  config: Record<string, string>;
}

export interface PartitionOffsets {
  partition: number;
  /** Log start offset. */
  low: number;
  /** High watermark: the offset the next record gets. */
  high: number;
}

export interface ClientAdmin {
  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  createTopics(topics: TopicSpec[]): Promise<void>;
  deleteTopics(topics: string[]): Promise<void>;
  listTopics(): Promise<string[]>;
  topicOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** First offset per partition whose record time is at or after `timestamp`, or the high watermark. */
  offsetsForTime(topic: string, timestamp: number): Promise<Array<{ partition: number; offset: number }>>;
  /** Committed offset per partition; -1 where the group committed nothing. */
  committedOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; offset: number }>>;
  /** Sets a group's committed offsets; the group must have no active member. */
  setCommittedOffsets(groupId: string, topic: string, offsets: Array<{ partition: number; offset: number }>): Promise<void>;
  describeGroup(groupId: string): Promise<{ state: string; members: number }>;
  deleteGroups(groupIds: string[]): Promise<void>;
  describeCluster(): Promise<{ brokers: number; controller: number | null }>;
}

export interface KafkaClient {
  /** Connects the producer and the admin client. */
  connect(): Promise<void>;
  /** Sends records with the idempotent producer; resolves once every broker acknowledged them (acks=all). */
  produce(records: ProduceRecord[]): Promise<void>;
  /**
   * Replaces the idempotent producer with a new one, which gets a new
   * producer id. Used after the broker rejected the old one's sequence numbers.
   */
  resetProducer(): Promise<void>;
  /** Creates a transactional producer; a second one with the same id fences the first. */
  transactionalProducer(transactionalId: string): Promise<TransactionalProducer>;
  consumer(spec: ConsumerSpec, handlers: ConsumerHandlers): ClientConsumer;
  readonly admin: ClientAdmin;
  close(): Promise<void>;
}

/** Builds the kafkajs configuration. Exported for the benchmark, which runs raw kafkajs with the same settings. */
export function kafkajsConfig(options: ResolvedOptions, logger: () => Logger): KafkaConfig {
  return {
    clientId: options.clientId,
    brokers: options.brokers,
    ...(options.ssl ? { ssl: options.ssl } : {}),
    ...(options.sasl ? { sasl: options.sasl as SASLOptions } : {}),
    connectionTimeout: options.connectionTimeoutMs,
    logLevel: kafkajs().logLevel.WARN,
    logCreator: () => createLogForwarder(logger),
  };
}

/**
 * Retries topic creation and probing while kafkajs marks the error retriable
 * (an unknown partition or a leader not ready yet, right after creation), for
 * about 10 s in all. Core's policy is built on cockatiel.
 */
const creationPolicy = createResiliencePolicy({
  name: "kafka topic creation",
  integration: "kafka",
  retries: 20,
  backoff: { initialMs: 50, maxMs: 1_000 },
  isRetryable: (error) => (error as { retriable?: boolean })?.retriable === true || (error as { cause?: { retriable?: boolean } })?.cause?.retriable === true,
});

function retryTransient<T>(operation: () => Promise<T>): Promise<T> {
  return creationPolicy.execute(() => operation());
}

/** Kafka's compression codes as kafkajs numbers them. */
export function compressionCode(compression: CompressionType): number {
  const { CompressionTypes } = kafkajs();
  if (compression === "gzip") return CompressionTypes.GZIP;
  if (compression === "snappy") {
    registerSnappy();
    return CompressionTypes.Snappy;
  }
  return CompressionTypes.None;
}

let snappyRegistered = false;

/**
 * Adds the Snappy codec to kafkajs, which ships only gzip. It is added when
 * the first client is created, never at import, and also lets consumers read
 * Snappy batches from other producers.
 */
export function registerSnappy(): void {
  if (snappyRegistered) return;
  snappyRegistered = true;
  const { CompressionCodecs, CompressionTypes } = kafkajs();
  (CompressionCodecs as Record<number, unknown>)[CompressionTypes.Snappy] = SnappyCodec;
}

/** Rate-limits kafkajs log lines and forwards them to the integration's logger. */
function createLogForwarder(logger: () => Logger): (entry: KafkajsLogEntry) => void {
  const lastSeen = new Map<string, { at: number; repeats: number }>();
  const WINDOW_MS = 10_000;

  const { logLevel } = kafkajs();
  return ({ level, namespace, log }) => {
    const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
    const key = `${namespace}:${message}`;
    const now = Date.now();
    const seen = lastSeen.get(key);
    if (seen !== undefined && now - seen.at < WINDOW_MS) {
      seen.repeats += 1;
      return;
    }
    const repeats = seen?.repeats ?? 0;
    lastSeen.set(key, { at: now, repeats: 0 });
    if (lastSeen.size > 1_000) lastSeen.clear();

    const fields = { source: "kafkajs", namespace, ...pickLogFields(extra), ...(repeats > 0 ? { repeatedBefore: repeats } : {}) };
    // kafkajs logs every lost connection as an error while it retries, so errors it recovers from show as warnings.
    if (level === logLevel.ERROR || level === logLevel.WARN) logger().warn(`kafkajs: ${message}`, fields);
    else logger().debug(`kafkajs: ${message}`, fields);
  };
}

function pickLogFields(extra: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const name of ["broker", "groupId", "topic", "partition", "error", "retryCount", "retryTime", "clientId"]) {
    if (extra[name] !== undefined) fields[name] = extra[name];
  }
  return fields;
}

function toKafkajsMessages(records: ProduceRecord[]): Map<string, Array<{ key?: string | null; value: Buffer | string | null; headers?: Record<string, string>; partition?: number }>> {
  const byTopic = new Map<string, Array<{ key?: string | null; value: Buffer | string | null; headers?: Record<string, string>; partition?: number }>>();
  for (const record of records) {
    let list = byTopic.get(record.topic);
    if (list === undefined) {
      list = [];
      byTopic.set(record.topic, list);
    }
    list.push({
      key: record.key ?? null,
      value: record.value,
      ...(record.headers !== undefined ? { headers: record.headers } : {}),
      ...(record.partition !== undefined ? { partition: record.partition } : {}),
    });
  }
  return byTopic;
}

/** Shared by every record without headers, so none allocates an object of its own. */
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

function decodeHeaders(headers: KafkaMessage["headers"]): Record<string, string> {
  if (headers === undefined) return NO_HEADERS;
  let decoded: Record<string, string> | undefined;
  for (const name in headers) {
    const value = headers[name];
    decoded ??= {};
    const first = Array.isArray(value) ? value[0] : value;
    if (first === undefined) continue;
    decoded[name] = typeof first === "string" ? first : first.toString("utf8");
  }
  return decoded ?? NO_HEADERS;
}

function toConsumed(topic: string, partition: number, message: KafkaMessage): ConsumedMessage {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key === null ? null : message.key.toString("utf8"),
    value: message.value,
    headers: decodeHeaders(message.headers),
    timestamp: Number(message.timestamp),
  };
}

/** Creates the kafkajs implementation of the client. Nothing connects until `connect`. */
export function createKafkajsClient(options: ResolvedOptions, logger: () => Logger): KafkaClient {
  const kafka = new (kafkajs().Kafka)(kafkajsConfig(options, logger));
  const compression = compressionCode(options.compression);
  // Consumers must be able to read Snappy batches whatever this integration produces.
  registerSnappy();

  const newProducer = (): Producer =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: options.maxInFlight,
      allowAutoTopicCreation: false,
    });
  let producer = newProducer();
  const admin: Admin = kafka.admin();
  const transactional = new Set<Producer>();
  let connecting: Promise<void> | undefined;

  /** Connects the admin client and the producer once; a failed attempt is made again on the next call. */
  function ready(): Promise<void> {
    if (connecting === undefined) {
      connecting = (async () => {
        await admin.connect();
        await producer.connect();
      })();
      connecting.catch(() => {
        connecting = undefined;
      });
    }
    return connecting;
  }

  const clientAdmin: ClientAdmin = {
    async createTopics(topics) {
      if (topics.length === 0) return;
      await ready();
      const request = {
        waitForLeaders: true,
        topics: topics.map((spec) => ({
          topic: spec.topic,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor,
          configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
        })),
      };
      // Right after creation the metadata can name a leader that does not serve the partition yet, so
      // creation is retried and then each partition is probed until its leader responds.
      await retryTransient(() => admin.createTopics(request));
      for (const spec of topics) await retryTransient(() => admin.fetchTopicOffsets(spec.topic));
    },
    async deleteTopics(topics) {
      if (topics.length === 0) return;
      await ready();
      await admin.deleteTopics({ topics });
    },
    async listTopics() {
      await ready();
      return admin.listTopics();
    },
    async topicOffsets(topic) {
      await ready();
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map((entry) => ({ partition: entry.partition, low: Number(entry.low), high: Number(entry.high) })).sort((a, b) => a.partition - b.partition);
    },
    async offsetsForTime(topic, timestamp) {
      await ready();
      const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, timestamp);
      return offsets.map((entry) => ({ partition: entry.partition, offset: Number(entry.offset) })).sort((a, b) => a.partition - b.partition);
    },
    async committedOffsets(groupId, topic) {
      await ready();
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return (entry?.partitions ?? []).map((partition) => ({ partition: partition.partition, offset: Number(partition.offset) }));
    },
    async setCommittedOffsets(groupId, topic, offsets) {
      await ready();
      await admin.setOffsets({ groupId, topic, partitions: offsets.map((entry) => ({ partition: entry.partition, offset: String(entry.offset) })) });
    },
    async describeGroup(groupId) {
      await ready();
      const { groups } = await admin.describeGroups([groupId]);
      const group = groups[0];
      return { state: group?.state ?? "Dead", members: group?.members.length ?? 0 };
    },
    async deleteGroups(groupIds) {
      if (groupIds.length === 0) return;
      await ready();
      await admin.deleteGroups(groupIds);
    },
    async describeCluster() {
      await ready();
      const cluster = await admin.describeCluster();
      return { brokers: cluster.brokers.length, controller: cluster.controller };
    },
  };

  return {
    admin: clientAdmin,

    connect: ready,

    async resetProducer() {
      const old = producer;
      producer = newProducer();
      await old.disconnect().catch(() => undefined);
      await producer.connect();
    },

    async produce(records) {
      if (records.length === 0) return;
      await ready();
      const byTopic = toKafkajsMessages(records);
      await producer.sendBatch({
        acks: -1,
        compression,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    },

    async transactionalProducer(transactionalId) {
      const txProducer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await txProducer.connect();
      transactional.add(txProducer);
      return {
        transactionalId,
        async begin() {
          const transaction = await txProducer.transaction();
          return {
            async send(records) {
              if (records.length === 0) return;
              await transaction.sendBatch({
                acks: -1,
                compression,
                topicMessages: [...toKafkajsMessages(records)].map(([topic, messages]) => ({ topic, messages })),
              });
            },
            async sendOffsets(groupId, offsets) {
              const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
              for (const entry of offsets) {
                const list = byTopic.get(entry.topic) ?? [];
                list.push({ partition: entry.partition, offset: String(entry.offset) });
                byTopic.set(entry.topic, list);
              }
              await transaction.sendOffsets({ consumerGroupId: groupId, topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
            },
            commit: () => transaction.commit(),
            abort: () => transaction.abort(),
          };
        },
        async close() {
          transactional.delete(txProducer);
          await txProducer.disconnect();
        },
      };
    },

    consumer(spec, handlers) {
      return createConsumer(kafka, options, spec, handlers);
    },

    async close() {
      for (const txProducer of [...transactional]) await txProducer.disconnect().catch(() => undefined);
      transactional.clear();
      connecting = undefined;
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    },
  };
}

/** Delays between restarts of a consumer that kafkajs gave up on, in ms. */
const RESTART_DELAYS_MS = [500, 1_000, 2_000, 5_000, 10_000];

function createConsumer(kafka: Kafka, options: ResolvedOptions, spec: ConsumerSpec, handlers: ConsumerHandlers): ClientConsumer {
  let stopped = false;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let consumer = build();

  /** Creates a kafkajs consumer with the event hooks; kafkajs cannot run a consumer again once it crashed for good. */
  function build(): Consumer {
    const created = kafka.consumer({
      groupId: spec.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxWaitTimeInMs: options.fetchMaxWaitMs,
      readUncommitted: spec.readCommitted === false,
      allowAutoTopicCreation: false,
    });
    created.on(created.events.GROUP_JOIN, (event) => {
      restarts = 0;
      const assignment = new Map<string, number[]>();
      for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) assignment.set(topic, [...partitions]);
      handlers.onAssign?.(assignment);
    });
    created.on(created.events.START_BATCH_PROCESS, (event) => {
      // Batches of only transaction markers or aborted records never reach eachBatch, but the position moves past them.
      if (event.payload.batchSize === 0) handlers.onSkip?.(event.payload.topic, event.payload.partition, Number(event.payload.lastOffset) + 1);
    });
    created.on(created.events.CRASH, (event) => {
      if (stopped || created !== consumer) return;
      handlers.onCrash?.(event.payload.error, true);
      // kafkajs restarts by itself after retriable errors only; after others (such as no group coordinator during a broker restart) this does.
      if (!event.payload.restart) scheduleRestart();
    });
    return created;
  }

  function scheduleRestart(): void {
    const delay = RESTART_DELAYS_MS[Math.min(restarts, RESTART_DELAYS_MS.length - 1)] as number;
    restarts += 1;
    restartTimer = setTimeout(() => {
      if (stopped) return;
      const old = consumer;
      consumer = build();
      void old
        .disconnect()
        .catch(() => undefined)
        .then(() => run(consumer))
        .catch((error: unknown) => {
          if (stopped) return;
          handlers.onCrash?.(error instanceof Error ? error : new Error(String(error)), true);
          scheduleRestart();
        });
    }, delay);
    restartTimer.unref?.();
  }

  async function run(target: Consumer): Promise<void> {
    await target.connect();
    await target.subscribe({ topics: spec.topics, fromBeginning: spec.fromBeginning });
    await target.run({
      autoCommit: false,
      eachBatchAutoResolve: spec.autoResolve ?? true,
      partitionsConsumedConcurrently: spec.partitionsConsumedConcurrently ?? 1,
      eachBatch: async (payload: EachBatchPayload) => {
        const { batch } = payload;
        const messages = batch.messages.map((message) => toConsumed(batch.topic, batch.partition, message));
        await handlers.onBatch(
          {
            topic: batch.topic,
            partition: batch.partition,
            fetchedOffset: Number((batch as unknown as { fetchedOffset: string }).fetchedOffset),
            nextOffset: Number(batch.lastOffset()) + 1,
            highWatermark: Number(batch.highWatermark),
            messages,
          },
          {
            resolveOffset: (offset) => payload.resolveOffset(String(offset)),
            pause: () => {
              payload.pause();
            },
            isActive: () => payload.isRunning() && !payload.isStale(),
            heartbeat: () => payload.heartbeat(),
          },
        );
      },
    });
  }

  return {
    groupId: spec.groupId,

    start() {
      return run(consumer);
    },

    async commit(offsets) {
      if (offsets.length === 0 || stopped) return;
      await consumer.commitOffsets(offsets.map((entry) => ({ topic: entry.topic, partition: entry.partition, offset: String(entry.offset) })));
    },

    seek(topic, partition, offset) {
      consumer.seek({ topic, partition, offset: String(offset) });
    },

    pause(topic, partitions) {
      if (partitions.length > 0) consumer.pause([{ topic, partitions }]);
    },

    resume(topic, partitions) {
      if (partitions.length > 0) consumer.resume([{ topic, partitions }]);
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(restartTimer);
      await consumer.disconnect().catch(() => undefined);
    },
  };
}
