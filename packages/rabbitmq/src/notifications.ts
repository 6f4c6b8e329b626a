// Notifications role on RabbitMQ: one durable topic exchange (`notifications`
// by default) with the notification type as routing key. A broadcast
// subscriber gets an exclusive, auto-delete, server-named queue; the members
// of a group share one durable queue named `<exchange>.<group>.<pattern>`.
import { randomUUID } from "node:crypto";
import {
  BridgeError,
  currentContext,
  currentTenantId,
  currentTraceparent,
  runWithTenant,
  SpanKind,
  withSpan,
  validateRoutingKey,
  validateRoutingPattern,
  ValidationError,
  type Notification,
  type NotificationHandler,
  type NotificationsCapabilities,
  type NotificationsRole,
  type NotificationSubscription,
  type SubscribeOptions,
} from "@bridge/core";
import type { AmqpConnection } from "./connection.js";
import { rabbitError, type ResolvedOptions } from "./options.js";
import { BrokerSubscription } from "./subscription.js";

const GROUP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function createNotifications(connection: AmqpConnection, options: ResolvedOptions): NotificationsRole {
  const exchange = options.notificationsExchange;
  const capabilities: NotificationsCapabilities = { groups: true, replay: false, persistent: true };
  const subscriptions = new Set<BrokerSubscription>();
  let exchangeDeclared: Promise<void> | undefined;
  let closed = false;

  function ensureOpen(operation: string): void {
    if (closed) {
      throw rabbitError(`Cannot ${operation}: the RabbitMQ notifications role is closed. Create a new Bridge to ${operation} again.`, "CLOSED", "notifications");
    }
  }

  function ensureExchange(): Promise<void> {
    if (!exchangeDeclared) {
      const pending = connection.withAdminChannel("notifications", async (channel) => {
        await channel.assertExchange(exchange, "topic", { durable: true });
      });
      exchangeDeclared = pending;
      pending.catch(() => {
        if (exchangeDeclared === pending) exchangeDeclared = undefined;
      });
    }
    return exchangeDeclared;
  }

  return {
    capabilities,

    async publish<T>(type: string, payload: T, publishOptions: { tenantId?: string; correlationId?: string } = {}): Promise<Notification<T>> {
      ensureOpen("publish");
      const context = currentContext();
      const tenantId = publishOptions.tenantId ?? currentTenantId();
      validateRoutingKey(type, tenantId);
      if (typeof tenantId !== "string" || tenantId.length === 0) {
        throw new ValidationError(`Invalid tenantId ${JSON.stringify(tenantId)} for notification ${type}: pass a non-empty string.`, { role: "notifications" });
      }
      if (payload === undefined) {
        throw new ValidationError(`Payload of notification ${type} is undefined: pass null or a JSON value.`, { role: "notifications", tenantId });
      }

      const correlationId = publishOptions.correlationId ?? context.correlationId;
      const traceparent = currentTraceparent();
      const notification: Notification<T> = {
        id: randomUUID(),
        type,
        tenantId,
        payload,
        occurredAt: new Date().toISOString(),
        ...(correlationId !== undefined ? { correlationId } : {}),
        ...(traceparent !== undefined ? { traceparent } : {}),
      };
      let content: Buffer;
      try {
        content = Buffer.from(JSON.stringify(notification), "utf8");
      } catch (error) {
        throw new ValidationError(`Payload of notification ${type} cannot be serialized to JSON (${(error as Error).message}): remove cycles and BigInt values.`, {
          role: "notifications",
          tenantId,
          cause: error,
        });
      }
      if (content.length > options.maxPayloadBytes) {
        throw rabbitError(
          `Notification ${type} is ${content.length} bytes, over the limit of ${options.maxPayloadBytes} bytes (RABBITMQ_MAX_PAYLOAD_BYTES): publish an id and let subscribers load the data.`,
          "PAYLOAD_TOO_LARGE",
          "notifications",
          { tenantId, details: { type, bytes: content.length, maxBytes: options.maxPayloadBytes } },
        );
      }

      await ensureExchange();
      await connection.publish({
        exchange,
        routingKey: type,
        content,
        options: { persistent: true, contentType: "application/json", messageId: notification.id, headers: { "x-bridge-tenant": tenantId } },
        role: "notifications",
      });
      return notification;
    },

    async subscribe<T = unknown>(pattern: string, handler: NotificationHandler<T>, subscribeOptions: SubscribeOptions = {}): Promise<NotificationSubscription> {
      ensureOpen("subscribe");
      validateRoutingPattern(pattern);
      if (typeof handler !== "function") {
        throw new ValidationError(`Invalid handler for pattern "${pattern}": pass a function.`, { role: "notifications" });
      }
      const group = subscribeOptions.group;
      if (group !== undefined && (typeof group !== "string" || !GROUP_PATTERN.test(group))) {
        throw new ValidationError(
          `Invalid group ${JSON.stringify(group)} for pattern "${pattern}": use 1 to 200 letters, digits, ".", "-" or "_", starting with a letter or digit.`,
          { role: "notifications" },
        );
      }
      if (subscribeOptions.from !== undefined) {
        throw new BridgeError(
          `[@bridge/rabbitmq] Cannot subscribe to "${pattern}" from ${String(subscribeOptions.from)}: a RabbitMQ topic exchange keeps no history. Subscribe without "from", or use a provider with replay such as kafka.`,
          { code: "NOT_SUPPORTED", role: "notifications", integration: "rabbitmq" },
        );
      }
      await ensureExchange();

      const logger = connection.logger;
      const subscription = new BrokerSubscription(connection, {
        role: "notifications",
        label: group ? `${pattern} (group ${group})` : pattern,
        prefetch: options.prefetchCount,
        noAck: false,
        async declare(channel) {
          await channel.assertExchange(exchange, "topic", { durable: true });
          const { queue } =
            group === undefined
              ? await channel.assertQueue("", { exclusive: true, autoDelete: true, durable: false })
              : await channel.assertQueue(`${exchange}.${group}.${pattern}`, {
                  durable: true,
                  ...(options.quorumQueues ? { arguments: { "x-queue-type": "quorum" } } : {}),
                });
          await channel.bindQueue(queue, exchange, pattern);
          return queue;
        },
        async onMessage(message, channel, isLive) {
          let notification: Notification<T>;
          try {
            notification = JSON.parse(message.content.toString("utf8")) as Notification<T>;
            if (typeof notification !== "object" || notification === null || typeof notification.type !== "string") throw new Error("not a Bridge notification");
          } catch (error) {
            logger.error("dropped a message that is not a Bridge notification", { exchange, routingKey: message.fields.routingKey, error: (error as Error).message });
            if (isLive()) channel.ack(message);
            return;
          }

          try {
            await runWithTenant({ tenantId: notification.tenantId || "default", correlationId: notification.correlationId }, () =>
              withSpan(
                `${notification.type} receive`,
                { "messaging.system": "rabbitmq", "messaging.destination.name": exchange, "messaging.message.id": notification.id },
                () => handler(notification),
                { parent: notification.traceparent, kind: SpanKind.CONSUMER },
              ),
            );
            if (isLive()) channel.ack(message);
          } catch (error) {
            // One redelivery for a failing handler, then the notification is dropped so the queue keeps moving.
            const retry = !message.fields.redelivered;
            logger.error(`Notification handler for pattern "${pattern}" failed on ${notification.type} ${notification.id}${retry ? "; delivering it once more" : "; dropping it"}`, {
              err: error,
              notificationId: notification.id,
              type: notification.type,
              pattern,
              group,
              tenantId: notification.tenantId,
            });
            if (isLive()) channel.nack(message, false, retry);
          }
        },
      });
      await subscription.start();
      subscriptions.add(subscription);
      logger.info("notification subscription started", { pattern, group, exchange });

      return {
        pattern,
        async close() {
          subscriptions.delete(subscription);
          await subscription.close();
        },
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
      subscriptions.clear();
    },
  };
}
