import { BridgeError, ConfigError, type BridgeErrorCode, type RoleName } from "@bridge/core";

export const PACKAGE_NAME = "@bridge/kafka";

export type CompressionType = "none" | "gzip" | "snappy";
export type SaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";

/** Options of `kafka()`. Every field is optional; the default sits next to each. */
export interface KafkaOptions {
  /** Integration name, as used in `roles` and `bridge.integrations.<name>`. Default `"kafka"`. */
  name?: string;
  /** Bootstrap brokers as `host:port`, a list or one comma-separated string. Default `["127.0.0.1:9092"]`. */
  brokers?: string[] | string;
  /** Client id the brokers see in their logs and quotas. Default `"bridge"`. */
  clientId?: string;
  /** Prefix of every consumer group of the queue role: a task's workers join `<groupId>.<task>`. Default `"bridge-workers"`. */
  groupId?: string;
  /** TLS to the brokers: true for the system CAs, or Node.js TLS options. Default false. */
  ssl?: boolean | { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean };
  /** SASL authentication. Default none. The password is never logged or put in an error message. */
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  /** Prefix of the queue topics: task `order.place` lives on `<queueTopicPrefix>.order.place`. Default `"bridge.jobs"`. */
  queueTopicPrefix?: string;
  /** Partitions of each queue topic it creates. Default 3. */
  queuePartitions?: number;
  /** Retention of queue and retry topics, in ms. Default 24 hours. */
  queueRetentionMs?: number;
  /** Retention of dead-letter topics, in ms. Default 14 days. */
  deadLetterRetentionMs?: number;
  /** Replication factor of the topics it creates; -1 takes the broker's `default.replication.factor`. Default -1. */
  replicationFactor?: number;
  /** Topic of the logs role. Default `"system-logs"`. */
  logsTopic?: string;
  /** Retention of the logs topic, in ms. Default 7 days. */
  logsRetentionMs?: number;
  /** Topic of the notifications role. Default `"notifications"`. */
  notificationsTopic?: string;
  /** Retention of the notifications topic, in ms. Default 3 days. */
  notificationsRetentionMs?: number;
  /** Records sent in one produce request at most. Default 500. */
  maxBatchSize?: number;
  /** Time a record waits for others to fill its produce request, in ms; 0 sends on the next tick. Default 0. */
  batchTimeoutMs?: number;
  /** Compression of every produced batch: none, gzip (built in) or snappy (through kafkajs-snappy). Default `"none"`. */
  compression?: CompressionType;
  /** Produce requests in flight per broker connection. Default 5. */
  maxInFlight?: number;
  /** Publishes kept in memory while the brokers are unreachable; one more fails with OUTBOX_FULL. Default 10,000. */
  outboxSize?: number;
  /**
   * Largest encoded job card, log entry or notification, in bytes. Default 1,000,000, which leaves room for
   * the record and batch headers under Kafka's default `message.max.bytes` of 1,048,588.
   */
  maxPayloadBytes?: number;
  /** Delays of the retry topics, in ms, ascending. Default 100 ms, 1 s, 10 s, 1 min, 10 min, 1 h. */
  retryLevelsMs?: number[];
  /** Lease of a fetched job when `fetchBatch` names none, in ms. Default 30,000. */
  leaseMs?: number;
  /** Delay cap of the first retry, in ms; doubles per attempt. Default 1,000. */
  backoffBaseMs?: number;
  /** Largest retry delay, in ms. Default 300,000. */
  backoffMaxMs?: number;
  /** Jobs a task's consumer keeps in memory per partition before it stops fetching that partition. Default 1,000. */
  bufferPerPartition?: number;
  /** How long an idempotency key is remembered after its publish, in ms. Default 24 hours. */
  idempotencyTtlMs?: number;
  /** Idempotency keys remembered at most; the oldest is forgotten first. Default 100,000. */
  idempotencyMaxKeys?: number;
  /** Consumer session timeout, in ms; the broker accepts 6,000 to 300,000 by default. Default 30,000. */
  sessionTimeoutMs?: number;
  /** Consumer heartbeat interval, in ms. Default 3,000. */
  heartbeatIntervalMs?: number;
  /** Maximum time a fetch waits on the broker for new records, in ms. Default 500. */
  fetchMaxWaitMs?: number;
  /** Time to connect to a broker, in ms. Default 3,000. */
  connectionTimeoutMs?: number;
  /** Maximum wait of `start()` for the brokers, kafkajs retries included, in ms. Default 10,000. */
  startTimeoutMs?: number;
}

export const DEFAULT_RETRY_LEVELS_MS: readonly number[] = [100, 1_000, 10_000, 60_000, 600_000, 3_600_000];

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

export interface ResolvedOptions {
  name: string;
  brokers: string[];
  clientId: string;
  groupId: string;
  ssl: KafkaOptions["ssl"];
  sasl: KafkaOptions["sasl"];
  queueTopicPrefix: string;
  queuePartitions: number;
  queueRetentionMs: number;
  deadLetterRetentionMs: number;
  replicationFactor: number;
  logsTopic: string;
  logsRetentionMs: number;
  notificationsTopic: string;
  notificationsRetentionMs: number;
  maxBatchSize: number;
  batchTimeoutMs: number;
  compression: CompressionType;
  maxInFlight: number;
  outboxSize: number;
  maxPayloadBytes: number;
  retryLevelsMs: number[];
  leaseMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  bufferPerPartition: number;
  idempotencyTtlMs: number;
  idempotencyMaxKeys: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  fetchMaxWaitMs: number;
  connectionTimeoutMs: number;
  startTimeoutMs: number;
}

/** Builds the error every option check of this package throws: the package, the option, the value and the fix. */
export function optionError(option: string, value: unknown, expected: string): ConfigError {
  return new ConfigError([{ variable: `${PACKAGE_NAME} option ${option}`, value: describeValue(option, value), message: expected }], {
    integration: "kafka",
  });
}

/** Builds a typed error of this package that names the integration and role. */
export function kafkaError(
  message: string,
  code: BridgeErrorCode,
  role: RoleName | undefined,
  extra: { tenantId?: string; retryable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {},
): BridgeError {
  return new BridgeError(`[${PACKAGE_NAME}] ${message}`, { code, role, integration: "kafka", ...extra });
}

function describeValue(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (/password|sasl|key/i.test(option)) return "****";
  return JSON.stringify(value) ?? String(value);
}

/** Kafka topic names: at most 249 of these characters. */
const TOPIC_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;
const BROKER_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function wholeNumber(option: string, value: number | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw optionError(option, value, `expected a whole number from ${min} to ${max}`);
  }
  return value;
}

function topicName(option: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !TOPIC_PATTERN.test(value) || value === "." || value === "..") {
    throw optionError(option, value, 'expected a Kafka topic name: 1 to 249 letters, digits, ".", "_" or "-"');
  }
  return value;
}

/** Splits and checks a broker list given as an array or a comma-separated string. */
export function parseBrokers(value: string[] | string | undefined): string[] {
  if (value === undefined) return ["127.0.0.1:9092"];
  const list = (Array.isArray(value) ? value : String(value).split(",")).map((broker) => String(broker).trim()).filter((broker) => broker !== "");
  if (list.length === 0) throw optionError("brokers", value, "expected at least one broker as host:port, such as 127.0.0.1:9092");
  for (const broker of list) {
    const match = BROKER_PATTERN.exec(broker);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65_535) {
      throw optionError("brokers", broker, "expected host:port with a port from 1 to 65535, such as 127.0.0.1:9092 or [::1]:9092");
    }
  }
  return list;
}

/** Checks the options and fills in every default. Throws a CONFIG_INVALID error that names the first bad option. */
export function resolveOptions(options: KafkaOptions): ResolvedOptions {
  const retryLevelsMs = options.retryLevelsMs ? [...options.retryLevelsMs] : [...DEFAULT_RETRY_LEVELS_MS];
  if (
    retryLevelsMs.length === 0 ||
    retryLevelsMs.some((ms, i) => !Number.isInteger(ms) || ms < 1 || (i > 0 && ms <= (retryLevelsMs[i - 1] ?? 0)))
  ) {
    throw optionError("retryLevelsMs", retryLevelsMs, "expected a non-empty list of whole milliseconds above 0 in ascending order");
  }

  const sasl = options.sasl;
  if (sasl !== undefined) {
    if (!["plain", "scram-sha-256", "scram-sha-512"].includes(sasl.mechanism)) {
      throw optionError("sasl.mechanism", sasl.mechanism, "expected plain, scram-sha-256 or scram-sha-512");
    }
    if (typeof sasl.username !== "string" || sasl.username === "") {
      throw optionError("sasl.username", sasl.username, "expected the SASL user name");
    }
    if (typeof sasl.password !== "string") {
      throw optionError("sasl.password", "****", "expected the SASL password as a string");
    }
  }

  const compression = options.compression ?? "none";
  if (!["none", "gzip", "snappy"].includes(compression)) {
    throw optionError("compression", compression, "expected none, gzip or snappy (lz4 and zstd need native codecs that this package does not ship)");
  }

  const queueTopicPrefix = topicName("queueTopicPrefix", options.queueTopicPrefix, "bridge.jobs");
  if (queueTopicPrefix.length > 200) {
    throw optionError("queueTopicPrefix", queueTopicPrefix, "expected at most 200 characters, leaving room for the task name and suffixes");
  }
  const groupId = options.groupId ?? "bridge-workers";
  if (typeof groupId !== "string" || !/^[A-Za-z0-9._-]{1,200}$/.test(groupId)) {
    throw optionError("groupId", groupId, 'expected 1 to 200 letters, digits, ".", "_" or "-"');
  }
  const clientId = options.clientId ?? "bridge";
  if (typeof clientId !== "string" || !/^[A-Za-z0-9._-]{1,200}$/.test(clientId)) {
    throw optionError("clientId", clientId, 'expected 1 to 200 letters, digits, ".", "_" or "-"');
  }

  const backoffBaseMs = wholeNumber("backoffBaseMs", options.backoffBaseMs, 1_000);
  const backoffMaxMs = wholeNumber("backoffMaxMs", options.backoffMaxMs, 300_000);
  if (backoffMaxMs < backoffBaseMs) {
    throw optionError("backoffMaxMs", backoffMaxMs, `expected at least backoffBaseMs (${backoffBaseMs})`);
  }
  const sessionTimeoutMs = wholeNumber("sessionTimeoutMs", options.sessionTimeoutMs, 30_000, 1_000);
  const heartbeatIntervalMs = wholeNumber("heartbeatIntervalMs", options.heartbeatIntervalMs, 3_000, 100);
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw optionError("heartbeatIntervalMs", heartbeatIntervalMs, `expected less than sessionTimeoutMs (${sessionTimeoutMs}), usually a third of it`);
  }

  return {
    name: options.name ?? "kafka",
    brokers: parseBrokers(options.brokers),
    clientId,
    groupId,
    ssl: options.ssl ?? false,
    sasl,
    queueTopicPrefix,
    queuePartitions: wholeNumber("queuePartitions", options.queuePartitions, 3, 1, 10_000),
    queueRetentionMs: wholeNumber("queueRetentionMs", options.queueRetentionMs, DAY, 60_000),
    deadLetterRetentionMs: wholeNumber("deadLetterRetentionMs", options.deadLetterRetentionMs, 14 * DAY, 60_000),
    replicationFactor: options.replicationFactor === -1 ? -1 : wholeNumber("replicationFactor", options.replicationFactor, -1, 1, 32_767),
    logsTopic: topicName("logsTopic", options.logsTopic, "system-logs"),
    logsRetentionMs: wholeNumber("logsRetentionMs", options.logsRetentionMs, 7 * DAY, 60_000),
    notificationsTopic: topicName("notificationsTopic", options.notificationsTopic, "notifications"),
    notificationsRetentionMs: wholeNumber("notificationsRetentionMs", options.notificationsRetentionMs, 3 * DAY, 60_000),
    maxBatchSize: wholeNumber("maxBatchSize", options.maxBatchSize, 500, 1, 100_000),
    batchTimeoutMs: wholeNumber("batchTimeoutMs", options.batchTimeoutMs, 0, 0, 60_000),
    compression,
    maxInFlight: wholeNumber("maxInFlight", options.maxInFlight, 5, 1, 1_000),
    outboxSize: wholeNumber("outboxSize", options.outboxSize, 10_000, 0),
    maxPayloadBytes: wholeNumber("maxPayloadBytes", options.maxPayloadBytes, 1_000_000),
    retryLevelsMs,
    leaseMs: wholeNumber("leaseMs", options.leaseMs, 30_000),
    backoffBaseMs,
    backoffMaxMs,
    bufferPerPartition: wholeNumber("bufferPerPartition", options.bufferPerPartition, 1_000, 1, 1_000_000),
    idempotencyTtlMs: wholeNumber("idempotencyTtlMs", options.idempotencyTtlMs, DAY),
    idempotencyMaxKeys: wholeNumber("idempotencyMaxKeys", options.idempotencyMaxKeys, 100_000),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    fetchMaxWaitMs: wholeNumber("fetchMaxWaitMs", options.fetchMaxWaitMs, 500, 1, 60_000),
    connectionTimeoutMs: wholeNumber("connectionTimeoutMs", options.connectionTimeoutMs, 3_000, 1),
    startTimeoutMs: wholeNumber("startTimeoutMs", options.startTimeoutMs, 10_000, 1),
  };
}
