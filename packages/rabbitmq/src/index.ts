// @bridge/rabbitmq: the queue, logs and notifications roles of Bridge on one
// RabbitMQ connection, built on amqplib.
import type { Integration, LogSink, NotificationsRole, ProviderPackage } from "@bridge/core";
import { AmqpConnection } from "./connection.js";
import { envSchema, optionsFromEnv, SECRET_VARIABLES } from "./env.js";
import { createLogSink } from "./logs.js";
import { createNotifications } from "./notifications.js";
import { resolveOptions, type RabbitMQOptions } from "./options.js";
import { createQueue, type RabbitMQQueue, type RabbitMQQueueOptions } from "./queue.js";

export type { RabbitMQOptions } from "./options.js";
export { maskUrl, DEFAULT_DELAY_LEVELS_MS } from "./options.js";
export type { RabbitMQQueue, RabbitMQQueueOptions } from "./queue.js";
export { HEADER as DEAD_LETTER_HEADERS } from "./queue.js";
export { taskQueueNames, type TaskQueueNames } from "./topology.js";
export { envSchema, type RabbitMQEnv } from "./env.js";

export interface RabbitMQModules {
  queue: RabbitMQQueue;
  logs: LogSink;
  notifications: NotificationsRole;
  [key: string]: unknown;
}

export interface RabbitMQIntegrationOptions extends RabbitMQOptions, RabbitMQQueueOptions {}

/**
 * Creates the RabbitMQ integration. Nothing connects until `start()`; the
 * modules exist at once so `bridge.integrations.rabbitmq.queue` works before it.
 */
export function rabbitmq(options: RabbitMQIntegrationOptions = {}): Integration<RabbitMQModules> {
  const resolved = resolveOptions(options);
  const connection = new AmqpConnection(resolved);
  const modules: RabbitMQModules = {
    queue: createQueue(connection, resolved, options),
    logs: createLogSink(connection, resolved),
    notifications: createNotifications(connection, resolved),
  };

  return {
    name: resolved.name,
    roles: ["queue", "logs", "notifications"],
    modules,

    async start(context) {
      await connection.start(context.logger);
    },

    health() {
      return connection.health();
    },

    async stop({ deadlineMs }) {
      connection.logger.info("stopping RabbitMQ integration", { deadlineMs });
      await modules.queue.close({ drainMs: deadlineMs });
      await modules.notifications.close();
      await modules.logs.close?.();
      await connection.close(deadlineMs);
    },
  };
}

/** Read by `createBridgeFromEnv` when `BRIDGE_QUEUE`, `BRIDGE_LOGS` or `BRIDGE_NOTIFICATIONS` names rabbitmq. */
export const provider: ProviderPackage<typeof envSchema> = {
  name: "rabbitmq",
  roles: ["queue", "logs", "notifications"],
  envSchema,
  secretVariables: SECRET_VARIABLES,
  fromEnv(config) {
    return rabbitmq(optionsFromEnv(config));
  },
};
