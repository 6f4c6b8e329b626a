// @bridge/kafka: the queue, logs and notifications roles of Bridge on Apache
// Kafka, built on kafkajs behind the client interface of client.ts.
import { randomUUID } from "node:crypto";
import type { HealthReport, Integration, LogSink, Logger, NotificationsRole, ProviderPackage } from "@bridge/core";
import { createKafkajsClient, type KafkaClient } from "./client.js";
import { envSchema, optionsFromEnv, SECRET_VARIABLES } from "./env.js";
import { loadKafkajs } from "./kafkajs-loader.js";
import { createLogSink } from "./logs.js";
import { createNotifications } from "./notifications.js";
import { kafkaError, resolveOptions, type KafkaOptions } from "./options.js";
import { createQueue, type KafkaQueue } from "./queue.js";
import { errorMessage, Sender } from "./sender.js";
import { TopicRegistry } from "./topics.js";

export type { KafkaOptions, CompressionType, SaslMechanism } from "./options.js";
export { DEFAULT_RETRY_LEVELS_MS, resolveOptions, parseBrokers } from "./options.js";
export type { KafkaQueue, ReplayTarget } from "./queue.js";
export type { ExactlyOnceContext, ExactlyOnceHandler, ExactlyOnceOptions } from "./exactly-once.js";
export type { TaskTopics, RetryLevel } from "./topics.js";
export { taskTopics, formatDelay } from "./topics.js";
export { HEADER } from "./card.js";
export { envSchema, optionsFromEnv, type KafkaEnv } from "./env.js";
export type {
  KafkaClient,
  ClientAdmin,
  ClientConsumer,
  ClientTransaction,
  ConsumerHandlers,
  ConsumerSpec,
  ConsumedBatch,
  ConsumedMessage,
  ProduceRecord,
  TransactionalProducer,
} from "./client.js";
export { createKafkajsClient, kafkajsConfig, compressionCode } from "./client.js";
export { loadKafkajs, filterAbortedMessages } from "./kafkajs-loader.js";

export interface KafkaModules {
  queue: KafkaQueue;
  logs: LogSink;
  notifications: NotificationsRole;
  [key: string]: unknown;
}

const silentLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  child() {
    return silentLogger;
  },
};

/** Maximum wait of `health()` for the brokers, in ms. */
const HEALTH_TIMEOUT_MS = 3_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Creates the Kafka integration. Nothing connects until `start()` or the
 * first call of a module; the modules exist at once, so
 * `bridge.integrations.kafka.queue` works before start.
 */
export function kafka(options: KafkaOptions = {}): Integration<KafkaModules> {
  const resolved = resolveOptions(options);
  let logger: Logger = silentLogger;
  const log = () => logger;
  const client: KafkaClient = createKafkajsClient(resolved, log);
  const sender = new Sender(() => client, resolved, log);
  const topics = new TopicRegistry(() => client.admin, resolved);
  const deps = { client: () => client, sender, topics, options: resolved, logger: log };
  const modules: KafkaModules = {
    queue: createQueue({ ...deps, instanceId: randomUUID().slice(0, 8) }),
    logs: createLogSink(deps),
    notifications: createNotifications(deps),
  };
  let stopped = false;

  return {
    name: resolved.name,
    roles: ["queue", "logs", "notifications"],
    modules,

    async start(context) {
      logger = context.logger;
      try {
        const deadline = Date.now() + resolved.startTimeoutMs;
        await withTimeout(client.connect(), resolved.startTimeoutMs, "connecting");
        await withTimeout(client.admin.describeCluster(), Math.max(1, deadline - Date.now()), "reading the cluster metadata");
      } catch (error) {
        // Stops kafkajs's own connection retries, which would keep the process alive after start failed.
        await client.close().catch(() => undefined);
        throw kafkaError(
          `Could not connect to Kafka at ${resolved.brokers.join(",")}: ${errorMessage(error)}. Start the brokers or check KAFKA_BROKERS (and KAFKA_ENABLE_SSL, KAFKA_SASL_* for secured clusters).`,
          "UNAVAILABLE",
          undefined,
          { retryable: true, cause: error, details: { brokers: resolved.brokers } },
        );
      }
      if (!loadKafkajs().patched) {
        logger.warn(
          "kafkajs was loaded before @bridge/kafka, so its own filter for aborted transactions is in use: read_committed consumers may deliver records of aborted transactions. Import @bridge/kafka before kafkajs, or load kafkajs through loadKafkajs().",
        );
      }
      logger.info("connected to Kafka", { brokers: resolved.brokers, clientId: resolved.clientId, groupId: resolved.groupId, compression: resolved.compression });
    },

    async health(): Promise<HealthReport> {
      const failure = sender.failure;
      const detail: Record<string, unknown> = { brokers: resolved.brokers, outbox: sender.backlog, ...(failure ? { produceFailing: failure } : {}) };
      const started = performance.now();
      try {
        const cluster = await withTimeout(client.admin.describeCluster(), HEALTH_TIMEOUT_MS, "reading the cluster metadata");
        const latencyMs = Math.round(performance.now() - started);
        detail["clusterBrokers"] = cluster.brokers;
        detail["consumerLag"] = await withTimeout(modules.queue.lag(), HEALTH_TIMEOUT_MS, "reading consumer lag").catch((error: unknown) => ({ error: errorMessage(error) }));
        return { status: failure ? "degraded" : "up", latencyMs, detail };
      } catch (error) {
        detail["error"] = errorMessage(error);
        // Publishes still wait in the outbox and consumers reconnect by themselves, so an unreachable cluster is degraded until stop.
        return { status: stopped ? "down" : "degraded", detail };
      }
    },

    async stop({ deadlineMs }) {
      if (stopped) return;
      stopped = true;
      logger.info("stopping Kafka integration", { deadlineMs });
      const deadline = Date.now() + deadlineMs;
      await modules.queue.close({ drainMs: deadlineMs });
      await modules.notifications.close();
      await modules.logs.close?.();
      await sender.close(Math.max(0, deadline - Date.now()));
      await client.close();
      logger.info("Kafka integration stopped");
    },
  };
}

/** Read by `createBridgeFromEnv` when `BRIDGE_QUEUE`, `BRIDGE_LOGS` or `BRIDGE_NOTIFICATIONS` names kafka. */
export const provider: ProviderPackage<typeof envSchema> = {
  name: "kafka",
  roles: ["queue", "logs", "notifications"],
  envSchema,
  secretVariables: SECRET_VARIABLES,
  fromEnv(config) {
    return kafka(optionsFromEnv(config));
  },
};
