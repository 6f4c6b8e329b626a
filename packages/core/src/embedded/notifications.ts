/**
 * Embedded notifications: an in-process topic exchange. Routing patterns
 * follow AMQP topic exchanges, subscribers without a group each get every
 * match, and subscribers sharing a group take turns. Nothing is kept, so
 * there is no replay.
 */
import { randomUUID } from "node:crypto";
import { BridgeError, ValidationError } from "../errors.js";
import { createLogs } from "../logs.js";
import type { Logger } from "../roles/logs.js";
import type {
  Notification,
  NotificationHandler,
  NotificationsRole,
  NotificationSubscription,
  SubscribeOptions,
} from "../roles/notifications.js";
import { currentContext, currentTenantId, runWithTenant } from "../tenant.js";
import { currentTraceparent, SpanKind, withSpan } from "../telemetry.js";
import { createMemoryLogSink } from "./log-sink.js";

/** AMQP 0-9-1 routing keys are short strings: at most 255 bytes. */
export const MAX_ROUTING_KEY_BYTES = 255;

const WORD_PATTERN = /^[A-Za-z0-9_-]+$/;
const GROUP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const ROUTING_RULE = 'use dot-separated words of letters, digits, "_" or "-", such as "order.confirmed"';
const PATTERN_RULE = `${ROUTING_RULE}; in patterns a word may also be "*" (exactly one word) or "#" (zero or more words), such as "order.*"`;

/**
 * Checks whether `routingKey` matches `pattern`, where `*` is exactly one word and
 * `#` zero or more words, as AMQP topic exchanges define them. Neither value
 * is validated here, so call `validateRoutingPattern` and `validateRoutingKey` first.
 */
export function matchesRoutingPattern(pattern: string, routingKey: string): boolean {
  const patternWords = splitWords(pattern);
  const keyWords = splitWords(routingKey);

  // matched[j] is true when the pattern words seen so far match the first j key words.
  let matched: boolean[] = new Array<boolean>(keyWords.length + 1).fill(false);
  matched[0] = true;
  for (const word of patternWords) {
    const next = new Array<boolean>(keyWords.length + 1).fill(false);
    if (word === "#") {
      let reachable = false;
      for (let j = 0; j <= keyWords.length; j += 1) {
        reachable = reachable || matched[j] === true;
        next[j] = reachable;
      }
    } else {
      for (let j = 1; j <= keyWords.length; j += 1) {
        next[j] = matched[j - 1] === true && (word === "*" || word === keyWords[j - 1]);
      }
    }
    matched = next;
  }
  return matched[keyWords.length] === true;
}

function splitWords(value: string): string[] {
  return value === "" ? [] : value.split(".");
}

/** Throws ValidationError unless `routingKey` is dot-separated words without wildcards. */
export function validateRoutingKey(routingKey: unknown, tenantId?: string): asserts routingKey is string {
  const problem = findProblem(routingKey, false);
  if (problem !== undefined) {
    throw new ValidationError(`Invalid notification type ${JSON.stringify(routingKey)}: ${problem}; ${ROUTING_RULE}.`, {
      role: "notifications",
      tenantId,
      details: { routingKey },
    });
  }
}

/** Throws ValidationError unless `pattern` is dot-separated words, `*` or `#`. */
export function validateRoutingPattern(pattern: unknown, tenantId?: string): asserts pattern is string {
  const problem = findProblem(pattern, true);
  if (problem !== undefined) {
    throw new ValidationError(`Invalid routing pattern ${JSON.stringify(pattern)}: ${problem}; ${PATTERN_RULE}.`, {
      role: "notifications",
      tenantId,
      details: { pattern },
    });
  }
}

function findProblem(value: unknown, wildcards: boolean): string | undefined {
  if (typeof value !== "string") {
    return "it is not a string";
  }
  if (value.length === 0) {
    return "it is empty";
  }
  if (Buffer.byteLength(value, "utf8") > MAX_ROUTING_KEY_BYTES) {
    return `it is longer than ${MAX_ROUTING_KEY_BYTES} bytes`;
  }
  const words = value.split(".");
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index] as string;
    if (word.length === 0) {
      return `word ${index + 1} is empty`;
    }
    if (wildcards && (word === "*" || word === "#")) {
      continue;
    }
    if (!WORD_PATTERN.test(word)) {
      return `word ${index + 1} (${JSON.stringify(word)}) contains characters other than letters, digits, "_" or "-"`;
    }
  }
  return undefined;
}

export interface MemoryNotificationsOptions {
  /** Receives handler failures. Default: warnings and errors printed to stderr. */
  logger?: Logger;
  /** Clock in epoch ms for `occurredAt`. Default `Date.now`. */
  now?: () => number;
}

export interface MemoryNotifications extends NotificationsRole {
  /** Resolves once every notification published so far has been handled. */
  flush(): Promise<void>;
}

interface Subscriber {
  pattern: string;
  group: string | undefined;
  handler: NotificationHandler<unknown>;
  closed: boolean;
  /** Deliveries run one at a time per subscriber, in publish order. */
  chain: Promise<void>;
}

/** Creates the embedded notifications role. */
export function createMemoryNotifications(options: MemoryNotificationsOptions = {}): MemoryNotifications {
  const now = options.now ?? Date.now;
  const ownLogs =
    options.logger === undefined
      ? createLogs({
          sinks: [createMemoryLogSink({ capacity: 1000, minLevel: "warn" })],
          minLevel: "warn",
          source: "embedded-notifications",
        })
      : undefined;
  const logger = (options.logger ?? ownLogs) as Logger;

  const subscribers = new Set<Subscriber>();
  // Turn counters of groups, so members take turns.
  const groupTurns = new Map<string, number>();
  let closed = false;

  function ensureOpen(operation: string): void {
    if (closed) {
      throw new BridgeError(
        `Cannot ${operation}: the embedded notifications role is closed. Create a new one or ${operation} before close().`,
        {
          code: "CLOSED",
          role: "notifications",
        },
      );
    }
  }

  function deliver(subscriber: Subscriber, body: string): void {
    subscriber.chain = subscriber.chain.then(async () => {
      if (subscriber.closed) {
        return;
      }
      // Each subscriber gets its own copy, as it would from a broker.
      const notification = JSON.parse(body) as Notification<unknown>;
      try {
        await runWithTenant({ tenantId: notification.tenantId, correlationId: notification.correlationId }, () =>
          withSpan(
            `${notification.type} receive`,
            {
              "messaging.system": "bridge-embedded",
              "messaging.destination.name": notification.type,
              "messaging.message.id": notification.id,
            },
            () => subscriber.handler(notification),
            { parent: notification.traceparent, kind: SpanKind.CONSUMER },
          ),
        );
      } catch (error) {
        logger.error(`Notification handler for pattern "${subscriber.pattern}" failed on ${notification.type} ${notification.id}`, {
          err: error,
          notificationId: notification.id,
          type: notification.type,
          pattern: subscriber.pattern,
          group: subscriber.group,
          tenantId: notification.tenantId,
        });
      }
    });
  }

  function route(notification: Notification<unknown>, body: string): void {
    const groups = new Map<string, Subscriber[]>();

    for (const subscriber of subscribers) {
      if (subscriber.closed || !matchesRoutingPattern(subscriber.pattern, notification.type)) {
        continue;
      }
      if (subscriber.group === undefined) {
        deliver(subscriber, body);
      } else {
        const members = groups.get(subscriber.group) ?? [];
        members.push(subscriber);
        groups.set(subscriber.group, members);
      }
    }

    for (const [group, members] of groups) {
      const turn = groupTurns.get(group) ?? 0;
      groupTurns.set(group, turn + 1);
      deliver(members[turn % members.length] as Subscriber, body);
    }
  }

  async function flush(): Promise<void> {
    // Handlers may publish again, so wait until no chain grew while waiting.
    for (;;) {
      const chains = [...subscribers].map((subscriber) => subscriber.chain);
      await Promise.all(chains);
      if ([...subscribers].every((subscriber, index) => subscriber.chain === chains[index])) {
        return;
      }
    }
  }

  return {
    capabilities: { groups: true, replay: false, persistent: false },

    async publish<T>(
      type: string,
      payload: T,
      publishOptions: { tenantId?: string; correlationId?: string } = {},
    ): Promise<Notification<T>> {
      ensureOpen("publish");
      const context = currentContext();
      const tenantId = publishOptions.tenantId ?? currentTenantId();
      validateRoutingKey(type, tenantId);
      if (typeof tenantId !== "string" || tenantId.length === 0) {
        throw new ValidationError(`Invalid tenantId ${JSON.stringify(tenantId)} for notification ${type}: pass a non-empty string.`, {
          role: "notifications",
        });
      }
      if (payload === undefined) {
        throw new ValidationError(`Payload of notification ${type} is undefined: pass null or a JSON value.`, {
          role: "notifications",
          tenantId,
        });
      }

      const correlationId = publishOptions.correlationId ?? context.correlationId;
      const traceparent = currentTraceparent();
      const notification: Notification<T> = {
        id: randomUUID(),
        type,
        tenantId,
        payload,
        occurredAt: new Date(now()).toISOString(),
        ...(correlationId !== undefined ? { correlationId } : {}),
        ...(traceparent !== undefined ? { traceparent } : {}),
      };

      let body: string;
      try {
        body = JSON.stringify(notification);
      } catch (error) {
        throw new ValidationError(
          `Payload of notification ${type} cannot be serialized to JSON (${(error as Error).message}): remove cycles and BigInt values.`,
          {
            role: "notifications",
            tenantId,
            cause: error,
          },
        );
      }
      route(notification as Notification<unknown>, body);
      return notification;
    },

    async subscribe<T = unknown>(
      pattern: string,
      handler: NotificationHandler<T>,
      subscribeOptions: SubscribeOptions = {},
    ): Promise<NotificationSubscription> {
      ensureOpen("subscribe");
      validateRoutingPattern(pattern);
      if (typeof handler !== "function") {
        throw new ValidationError(`Invalid handler for pattern "${pattern}": pass a function.`, { role: "notifications" });
      }
      const group = subscribeOptions.group;
      if (group !== undefined && (typeof group !== "string" || !GROUP_PATTERN.test(group))) {
        throw new ValidationError(
          `Invalid group ${JSON.stringify(
            group,
          )} for pattern "${pattern}": use 1 to 200 letters, digits, ".", "-" or "_", starting with a letter or digit.`,
          { role: "notifications" },
        );
      }
      if (subscribeOptions.from !== undefined) {
        throw new BridgeError(
          `Cannot subscribe to "${pattern}" from ${String(
            subscribeOptions.from,
          )}: the embedded notifications role keeps no history. Subscribe without "from", or use a provider with replay such as kafka.`,
          { code: "NOT_SUPPORTED", role: "notifications", integration: "embedded" },
        );
      }

      const subscriber: Subscriber = {
        pattern,
        group,
        handler: handler as NotificationHandler<unknown>,
        closed: false,
        chain: Promise.resolve(),
      };
      subscribers.add(subscriber);

      return {
        pattern,
        async close(): Promise<void> {
          // Deliveries already queued for this subscriber are skipped.
          subscriber.closed = true;
          subscribers.delete(subscriber);
        },
      };
    },

    flush,

    async close(): Promise<void> {
      if (closed) {
        return;
      }
      closed = true;
      await flush();
      subscribers.clear();
      await ownLogs?.close();
    },
  };
}
