import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import type { KafkaOptions } from "./options.js";

export const SECRET_VARIABLES = ["KAFKA_SASL_PASSWORD"] as const;

const whole = (min: number, max: number, what: string) =>
  z.coerce.number({ message: `expected ${what}` }).int(`expected ${what}`).min(min, `expected ${what}`).max(max, `expected ${what}`);

const flag = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "expected true or false" })
  .transform((value) => value === "true" || value === "1" || value === "yes");

const topic = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a Kafka topic name: 1 to 249 letters, digits, ".", "_" or "-"');

const brokerList = z
  .string()
  .min(1, "expected a comma-separated list of brokers such as 127.0.0.1:9092")
  .refine(
    (value) => value.split(",").every((broker) => /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(broker.trim())),
    "expected a comma-separated list of host:port, such as 127.0.0.1:9092,127.0.0.1:9093",
  );

const pemFile = z
  .string()
  .min(1, "expected the path of a PEM file")
  .refine((path) => existsSync(path), "file not found: expected the path of a readable PEM file");

const DAY_MS = 24 * 60 * 60 * 1000;

/** Schema of the Kafka variables, with their defaults. Other variables pass through untouched. */
export const envSchema = z
  .object({
    KAFKA_BROKERS: brokerList.default("127.0.0.1:9092"),
    KAFKA_CLIENT_ID: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'expected 1 to 200 letters, digits, ".", "_" or "-"').default("bridge"),
    KAFKA_GROUP_ID: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'expected 1 to 200 letters, digits, ".", "_" or "-"').default("bridge-workers"),
    KAFKA_ENABLE_SSL: flag.default("false"),
    KAFKA_SSL_CA_FILE: pemFile.optional(),
    KAFKA_SASL_MECHANISM: z.enum(["plain", "scram-sha-256", "scram-sha-512"], { message: "expected plain, scram-sha-256 or scram-sha-512" }).optional(),
    KAFKA_SASL_USERNAME: z.string().min(1, "expected the SASL user name").optional(),
    KAFKA_SASL_PASSWORD: z.string().optional(),
    KAFKA_QUEUE_TOPIC: topic.refine((value) => value.length <= 200, "expected at most 200 characters, leaving room for task names").default("bridge.jobs"),
    KAFKA_QUEUE_PARTITIONS: whole(1, 10_000, "a whole number of partitions from 1 to 10000").default(3),
    KAFKA_QUEUE_RETENTION_MS: whole(60_000, Number.MAX_SAFE_INTEGER, "a whole number of milliseconds of at least 60000").default(DAY_MS),
    KAFKA_DLQ_RETENTION_MS: whole(60_000, Number.MAX_SAFE_INTEGER, "a whole number of milliseconds of at least 60000").default(14 * DAY_MS),
    KAFKA_REPLICATION_FACTOR: z.coerce
      .number({ message: "expected -1 (the broker's default) or a whole number from 1 to 32767" })
      .int("expected -1 (the broker's default) or a whole number from 1 to 32767")
      .refine((value) => value === -1 || (value >= 1 && value <= 32_767), "expected -1 (the broker's default) or a whole number from 1 to 32767")
      .default(-1),
    KAFKA_LOGS_TOPIC: topic.default("system-logs"),
    KAFKA_LOGS_RETENTION_MS: whole(60_000, Number.MAX_SAFE_INTEGER, "a whole number of milliseconds of at least 60000").default(7 * DAY_MS),
    KAFKA_NOTIFICATIONS_TOPIC: topic.default("notifications"),
    KAFKA_NOTIFICATIONS_RETENTION_MS: whole(60_000, Number.MAX_SAFE_INTEGER, "a whole number of milliseconds of at least 60000").default(3 * DAY_MS),
    KAFKA_MAX_BATCH_SIZE: whole(1, 100_000, "a whole number of records from 1 to 100000").default(500),
    KAFKA_BATCH_TIMEOUT_MS: whole(0, 60_000, "a whole number of milliseconds from 0 to 60000").default(0),
    KAFKA_COMPRESSION_TYPE: z
      .enum(["none", "gzip", "snappy"], { message: "expected none, gzip or snappy (lz4 and zstd need native codecs that @bridge/kafka does not ship)" })
      .default("none"),
    KAFKA_MAX_IN_FLIGHT: whole(1, 1_000, "a whole number of requests from 1 to 1000").default(5),
    KAFKA_OUTBOX_SIZE: whole(0, Number.MAX_SAFE_INTEGER, "a whole number of 0 or more records").default(10_000),
  })
  .passthrough()
  .superRefine((env, context) => {
    if (env.KAFKA_SASL_MECHANISM !== undefined) {
      if (env.KAFKA_SASL_USERNAME === undefined) {
        context.addIssue({ code: z.ZodIssueCode.custom, path: ["KAFKA_SASL_USERNAME"], message: "required when KAFKA_SASL_MECHANISM is set" });
      }
      if (env.KAFKA_SASL_PASSWORD === undefined) {
        context.addIssue({ code: z.ZodIssueCode.custom, path: ["KAFKA_SASL_PASSWORD"], message: "required when KAFKA_SASL_MECHANISM is set" });
      }
    } else if (env.KAFKA_SASL_USERNAME !== undefined || env.KAFKA_SASL_PASSWORD !== undefined) {
      const variable = env.KAFKA_SASL_USERNAME !== undefined ? "KAFKA_SASL_USERNAME" : "KAFKA_SASL_PASSWORD";
      context.addIssue({ code: z.ZodIssueCode.custom, path: ["KAFKA_SASL_MECHANISM"], message: `required when ${variable} is set: plain, scram-sha-256 or scram-sha-512` });
    }
  });

export type KafkaEnv = z.output<typeof envSchema>;

/** Turns validated variables into options, reading the CA file. */
export function optionsFromEnv(env: KafkaEnv): KafkaOptions {
  let ssl: KafkaOptions["ssl"] = env.KAFKA_ENABLE_SSL;
  if (env.KAFKA_ENABLE_SSL && env.KAFKA_SSL_CA_FILE !== undefined) ssl = { ca: readFileSync(env.KAFKA_SSL_CA_FILE) };
  return {
    brokers: env.KAFKA_BROKERS,
    clientId: env.KAFKA_CLIENT_ID,
    groupId: env.KAFKA_GROUP_ID,
    ssl,
    ...(env.KAFKA_SASL_MECHANISM !== undefined
      ? { sasl: { mechanism: env.KAFKA_SASL_MECHANISM, username: env.KAFKA_SASL_USERNAME ?? "", password: env.KAFKA_SASL_PASSWORD ?? "" } }
      : {}),
    queueTopicPrefix: env.KAFKA_QUEUE_TOPIC,
    queuePartitions: env.KAFKA_QUEUE_PARTITIONS,
    queueRetentionMs: env.KAFKA_QUEUE_RETENTION_MS,
    deadLetterRetentionMs: env.KAFKA_DLQ_RETENTION_MS,
    replicationFactor: env.KAFKA_REPLICATION_FACTOR,
    logsTopic: env.KAFKA_LOGS_TOPIC,
    logsRetentionMs: env.KAFKA_LOGS_RETENTION_MS,
    notificationsTopic: env.KAFKA_NOTIFICATIONS_TOPIC,
    notificationsRetentionMs: env.KAFKA_NOTIFICATIONS_RETENTION_MS,
    maxBatchSize: env.KAFKA_MAX_BATCH_SIZE,
    batchTimeoutMs: env.KAFKA_BATCH_TIMEOUT_MS,
    compression: env.KAFKA_COMPRESSION_TYPE,
    maxInFlight: env.KAFKA_MAX_IN_FLIGHT,
    outboxSize: env.KAFKA_OUTBOX_SIZE,
  };
}
