import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import type { RabbitMQOptions } from "./options.js";

export const SECRET_VARIABLES = ["RABBITMQ_PASSWORD", "RABBITMQ_URL"] as const;

const whole = (min: number, what: string) =>
  z.coerce.number({ message: `expected ${what}` }).int(`expected ${what}`).min(min, `expected ${what}`);

const flag = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "expected true or false" })
  .transform((value) => value === "true" || value === "1" || value === "yes");

const name = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]+$/, "expected letters, digits, '.', '-', '_' or ':'")
  .refine((value) => !value.startsWith("amq."), "expected a name without the 'amq.' prefix, which RabbitMQ reserves");

const pemFile = z
  .string()
  .min(1, "expected the path of a PEM file")
  .refine((path) => existsSync(path), "file not found: expected the path of a readable PEM file");

/** Schema of the RabbitMQ variables, with their defaults. Other variables pass through untouched. */
export const envSchema = z
  .object({
    RABBITMQ_URL: z
      .string()
      .regex(/^amqps?:\/\/\S+$/, "expected an AMQP URL such as amqp://guest:guest@127.0.0.1:5672/ (amqps:// for TLS)")
      .optional(),
    RABBITMQ_HOST: z.string().min(1, "expected a host name or IP address").default("127.0.0.1"),
    RABBITMQ_PORT: whole(1, "a TCP port from 1 to 65535").max(65_535, "expected a TCP port from 1 to 65535").optional(),
    RABBITMQ_USERNAME: z.string().min(1, "expected a user name").default("guest"),
    RABBITMQ_PASSWORD: z.string().default("guest"),
    RABBITMQ_VHOST: z.string().min(1, "expected a virtual host such as /").default("/"),
    RABBITMQ_QUEUE_PREFIX: name.default("bridge"),
    RABBITMQ_PREFETCH_COUNT: whole(1, "a whole number of 1 or more").default(20),
    RABBITMQ_HEARTBEAT_INTERVAL: whole(0, "a whole number of seconds, 0 to turn heartbeats off").default(30),
    RABBITMQ_CHANNEL_POOL_SIZE: whole(1, "a whole number of 1 or more").max(64, "expected at most 64 channels").default(4),
    RABBITMQ_QUORUM_QUEUES: flag.default("false"),
    RABBITMQ_MAX_PAYLOAD_BYTES: whole(1, "a whole number of bytes of 1 or more").default(1_048_576),
    RABBITMQ_OUTBOX_SIZE: whole(0, "a whole number of 0 or more publishes").default(10_000),
    RABBITMQ_TLS_CA_FILE: pemFile.optional(),
    RABBITMQ_TLS_CERT_FILE: pemFile.optional(),
    RABBITMQ_TLS_KEY_FILE: pemFile.optional(),
    RABBITMQ_LOGS_EXCHANGE: name.default("logs"),
    RABBITMQ_NOTIFICATIONS_EXCHANGE: name.default("notifications"),
  })
  .passthrough()
  .superRefine((env, context) => {
    if ((env.RABBITMQ_TLS_CERT_FILE === undefined) !== (env.RABBITMQ_TLS_KEY_FILE === undefined)) {
      const missing = env.RABBITMQ_TLS_CERT_FILE === undefined ? "RABBITMQ_TLS_CERT_FILE" : "RABBITMQ_TLS_KEY_FILE";
      context.addIssue({ code: z.ZodIssueCode.custom, path: [missing], message: "required when the other of RABBITMQ_TLS_CERT_FILE and RABBITMQ_TLS_KEY_FILE is set (client certificate and key go together)" });
    }
  });

export type RabbitMQEnv = z.output<typeof envSchema>;

/** Turns validated variables into options, reading the TLS files. */
export function optionsFromEnv(env: RabbitMQEnv): RabbitMQOptions {
  const tls =
    env.RABBITMQ_TLS_CA_FILE || env.RABBITMQ_TLS_CERT_FILE || env.RABBITMQ_TLS_KEY_FILE
      ? {
          ...(env.RABBITMQ_TLS_CA_FILE ? { ca: readFileSync(env.RABBITMQ_TLS_CA_FILE) } : {}),
          ...(env.RABBITMQ_TLS_CERT_FILE ? { cert: readFileSync(env.RABBITMQ_TLS_CERT_FILE) } : {}),
          ...(env.RABBITMQ_TLS_KEY_FILE ? { key: readFileSync(env.RABBITMQ_TLS_KEY_FILE) } : {}),
        }
      : undefined;
  return {
    ...(env.RABBITMQ_URL !== undefined
      ? { url: env.RABBITMQ_URL }
      : {
          host: env.RABBITMQ_HOST,
          ...(env.RABBITMQ_PORT !== undefined ? { port: env.RABBITMQ_PORT } : {}),
          username: env.RABBITMQ_USERNAME,
          password: env.RABBITMQ_PASSWORD,
          vhost: env.RABBITMQ_VHOST,
        }),
    ...(tls ? { tls } : {}),
    queuePrefix: env.RABBITMQ_QUEUE_PREFIX,
    prefetchCount: env.RABBITMQ_PREFETCH_COUNT,
    heartbeatSeconds: env.RABBITMQ_HEARTBEAT_INTERVAL,
    channelPoolSize: env.RABBITMQ_CHANNEL_POOL_SIZE,
    quorumQueues: env.RABBITMQ_QUORUM_QUEUES,
    maxPayloadBytes: env.RABBITMQ_MAX_PAYLOAD_BYTES,
    outboxSize: env.RABBITMQ_OUTBOX_SIZE,
    logsExchange: env.RABBITMQ_LOGS_EXCHANGE,
    notificationsExchange: env.RABBITMQ_NOTIFICATIONS_EXCHANGE,
  };
}
