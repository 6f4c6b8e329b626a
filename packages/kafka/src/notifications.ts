// Notifications role on Kafka: one topic (`notifications` by default, kept
// 3 days) with the notification type as record key, so each type keeps its
// order. Subscribers filter by `*` and `#` patterns on the key. A group is the
// consumer group `<groupId>.notifications.<group>.<pattern>`, shared across
// processes; a subscriber without a group has a consumer group of its own.
import { randomUUID } from "node:crypto";
import {
  currentContext,
  currentTenantId,
  currentTraceparent,
  matchesRoutingPattern,
  runWithTenant,
  SpanKind,
  validateRoutingKey,
  validateRoutingPattern,
  ValidationError,
  withSpan,
  type Logger,
  type Notification,
  type NotificationHandler,
  type NotificationsCapabilities,
  type NotificationsRole,
  type NotificationSubscription,
  type SubscribeOptions,
} from "@bridge/core";
import type { ConsumedMessage, KafkaClient } from "./client.js";
import { kafkaError, type ResolvedOptions } from "./options.js";
import type { Sender } from "./sender.js";
import { errorMessage } from "./sender.js";
import { StreamReader } from "./stream.js";
import type { TopicRegistry } from "./topics.js";

const GROUP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export interface NotificationsDeps {
  client: () => KafkaClient;
  sender: Sender;
  topics: TopicRegistry;
  options: ResolvedOptions;
  logger: () => Logger;
}

interface Member {
  handler: NotificationHandler<unknown>;
  closed: boolean;
}

/** One consumer in this process for a group and pattern; the local members take turns. */
interface Share {
  reader: StreamReader;
  members: Member[];
  turn: number;
  ready: Promise<void>;
}

export function createNotifications(deps: NotificationsDeps): NotificationsRole {
  const { options, sender } = deps;
  const topic = options.notificationsTopic;
  const capabilities: NotificationsCapabilities = { groups: true, replay: true, persistent: true };
  const shares = new Map<string, Share>();
  const readers = new Set<StreamReader>();
  let closed = false;

  async function ensureTopic(): Promise<void> {
    try {
      await deps.topics.ensure([deps.topics.streamSpec(topic, options.notificationsRetentionMs)]);
    } catch (error) {
      throw kafkaError(
        `Could not create the notifications topic "${topic}" (KAFKA_NOTIFICATIONS_TOPIC): ${errorMessage(error)}. Check that the brokers are reachable and that this client may create topics, or create it beforehand.`,
        "UNAVAILABLE",
        "notifications",
        { retryable: true, cause: error, details: { topic } },
      );
    }
  }

  function ensureOpen(operation: string): void {
    if (closed) {
      throw kafkaError(`Cannot ${operation}: the Kafka notifications role is closed. Create a new Bridge to ${operation} again.`, "CLOSED", "notifications");
    }
  }

  function decode(message: ConsumedMessage): Notification | undefined {
    if (message.value === null) return undefined;
    try {
      return JSON.parse(message.value.toString("utf8")) as Notification;
    } catch (error) {
      deps.logger().warn("skipped a record on the notifications topic that is not JSON", { topic, partition: message.partition, offset: message.offset, error: errorMessage(error) });
      return undefined;
    }
  }

  async function deliver(pattern: string, group: string | undefined, handler: NotificationHandler<unknown>, notification: Notification): Promise<void> {
    try {
      await runWithTenant({ tenantId: notification.tenantId, ...(notification.correlationId !== undefined ? { correlationId: notification.correlationId } : {}) }, () =>
        withSpan(
          `${notification.type} receive`,
          { "messaging.system": "kafka", "messaging.destination.name": topic, "messaging.message.id": notification.id },
          () => handler(notification),
          { parent: notification.traceparent, kind: SpanKind.CONSUMER },
        ),
      );
    } catch (error) {
      deps.logger().error(`Notification handler for pattern "${pattern}" failed on ${notification.type} ${notification.id}`, {
        err: error,
        notificationId: notification.id,
        type: notification.type,
        pattern,
        group,
        tenantId: notification.tenantId,
      });
    }
  }

  /** Reads the stream for one pattern; returns undefined for records whose key does not match. */
  function matching(pattern: string, message: ConsumedMessage): Notification | undefined {
    // The key is the type, so records of other types are skipped without parsing them.
    if (message.key === null || !matchesRoutingPattern(pattern, message.key)) return undefined;
    return decode(message);
  }

  async function startReader(reader: StreamReader): Promise<void> {
    readers.add(reader);
    try {
      await reader.start();
    } catch (error) {
      readers.delete(reader);
      await reader.stop().catch(() => undefined);
      throw kafkaError(`Could not subscribe to notifications topic "${topic}": ${errorMessage(error)}. Check that the brokers are reachable.`, "UNAVAILABLE", "notifications", {
        retryable: true,
        cause: error,
      });
    }
  }

  async function subscribeBroadcast(pattern: string, handler: NotificationHandler<unknown>, from: "now" | number): Promise<NotificationSubscription> {
    const member: Member = { handler, closed: false };
    const reader = new StreamReader(
      deps.client,
      {
        groupId: `${options.groupId}.notifications.subscriber.${randomUUID()}`,
        topic,
        from,
        shared: false,
        onMessage: async (message) => {
          const notification = matching(pattern, message);
          if (notification !== undefined && !member.closed) await deliver(pattern, undefined, member.handler, notification);
        },
      },
      deps.logger,
    );
    await startReader(reader);
    return {
      pattern,
      async close() {
        member.closed = true;
        readers.delete(reader);
        await reader.stop();
      },
    };
  }

  async function subscribeGroup(pattern: string, group: string, handler: NotificationHandler<unknown>, from: "now" | number): Promise<NotificationSubscription> {
    const member: Member = { handler, closed: false };
    const id = `${group}\u0000${pattern}`;
    let share = shares.get(id);
    if (share === undefined || from !== "now") {
      const created: Share = { reader: undefined as unknown as StreamReader, members: [], turn: 0, ready: Promise.resolve() };
      created.reader = new StreamReader(
        deps.client,
        {
          groupId: `${options.groupId}.notifications.${group}.${pattern}`,
          topic,
          from,
          shared: true,
          onMessage: async (message) => {
            const notification = matching(pattern, message);
            const open = created.members.filter((candidate) => !candidate.closed);
            if (notification === undefined || open.length === 0) return;
            const chosen = open[created.turn % open.length] as Member;
            created.turn += 1;
            await deliver(pattern, group, chosen.handler, notification);
          },
        },
        deps.logger,
      );
      created.ready = startReader(created.reader);
      if (from === "now") shares.set(id, created);
      share = created;
      share.ready.catch(() => {
        if (shares.get(id) === created) shares.delete(id);
      });
    }
    share.members.push(member);
    const joined = share;
    try {
      await joined.ready;
    } catch (error) {
      joined.members.splice(joined.members.indexOf(member), 1);
      throw error;
    }
    return {
      pattern,
      async close() {
        member.closed = true;
        joined.members.splice(joined.members.indexOf(member), 1);
        if (joined.members.length === 0) {
          if (shares.get(id) === joined) shares.delete(id);
          readers.delete(joined.reader);
          await joined.reader.stop();
        }
      },
    };
  }

  return {
    capabilities,

    async publish<T>(type: string, payload: T, publishOptions: { tenantId?: string; correlationId?: string } = {}): Promise<Notification<T>> {
      ensureOpen("publish");
      const context = currentContext();
      const tenantId = publishOptions.tenantId ?? currentTenantId();
      validateRoutingKey(type, tenantId);
      if (typeof tenantId !== "string" || tenantId.length === 0) {
        throw new ValidationError(`Invalid tenantId ${JSON.stringify(tenantId)} for notification ${type}: pass a non-empty string.`, { role: "notifications", integration: "kafka" });
      }
      if (payload === undefined) {
        throw new ValidationError(`Payload of notification ${type} is undefined: pass null or a JSON value.`, { role: "notifications", integration: "kafka", tenantId });
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
      let value: Buffer;
      try {
        value = Buffer.from(JSON.stringify(notification), "utf8");
      } catch (error) {
        throw new ValidationError(`Payload of notification ${type} cannot be serialized to JSON (${errorMessage(error)}): remove cycles and BigInt values.`, {
          role: "notifications",
          integration: "kafka",
          tenantId,
          cause: error,
        });
      }
      if (value.length > options.maxPayloadBytes) {
        throw kafkaError(
          `Notification ${type} is ${value.length} bytes, over the limit of ${options.maxPayloadBytes} bytes (maxPayloadBytes): publish an id and let subscribers load the data.`,
          "PAYLOAD_TOO_LARGE",
          "notifications",
          { tenantId, details: { type, bytes: value.length, maxBytes: options.maxPayloadBytes } },
        );
      }

      await ensureTopic();
      await sender.send([{ topic, key: type, value }], "notifications");
      return notification;
    },

    async subscribe<T = unknown>(pattern: string, handler: NotificationHandler<T>, subscribeOptions: SubscribeOptions = {}): Promise<NotificationSubscription> {
      ensureOpen("subscribe");
      validateRoutingPattern(pattern);
      if (typeof handler !== "function") {
        throw new ValidationError(`Invalid handler for pattern "${pattern}": pass a function.`, { role: "notifications", integration: "kafka" });
      }
      const group = subscribeOptions.group;
      if (group !== undefined && (typeof group !== "string" || !GROUP_PATTERN.test(group))) {
        throw new ValidationError(
          `Invalid group ${JSON.stringify(group)} for pattern "${pattern}": use 1 to 200 letters, digits, ".", "-" or "_", starting with a letter or digit.`,
          { role: "notifications", integration: "kafka" },
        );
      }
      let from: "now" | number = "now";
      if (subscribeOptions.from !== undefined) {
        from = new Date(subscribeOptions.from).getTime();
        if (Number.isNaN(from)) {
          throw new ValidationError(`Invalid subscription start ${JSON.stringify(subscribeOptions.from)} for pattern "${pattern}": pass a Date or an ISO 8601 time.`, {
            role: "notifications",
            integration: "kafka",
          });
        }
      }

      await ensureTopic();
      const typed = handler as NotificationHandler<unknown>;
      return group === undefined ? subscribeBroadcast(pattern, typed, from) : subscribeGroup(pattern, group, typed, from);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all([...readers].map((reader) => reader.stop()));
      readers.clear();
      shares.clear();
    },
  };
}
