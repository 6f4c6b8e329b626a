// Logs role on RabbitMQ: every entry goes to the durable fanout exchange
// `logs` (by default), so each bound consumer (file writer, viewer, error
// tracker) gets every entry. The direct exchange `<logs>.levels` is bound to
// the fanout and routes by level, for subscribers that want only some levels.
import { BridgeError, LOG_LEVELS, UnavailableError, ValidationError, type LogEntry, type LogLevel, type LogSink, type LogSinkCapabilities, type LogSubscription } from "@bridge/core";
import type { Channel } from "amqplib";
import type { AmqpConnection } from "./connection.js";
import type { ResolvedOptions } from "./options.js";
import { BrokerSubscription } from "./subscription.js";

export function createLogSink(connection: AmqpConnection, options: ResolvedOptions): LogSink {
  const fanout = options.logsExchange;
  const byLevel = `${fanout}.levels`;
  // Entries are not stored: subscribers see entries written while they are subscribed.
  const capabilities: LogSinkCapabilities = { query: false, subscribe: true, persistent: false };
  const subscriptions = new Set<BrokerSubscription>();
  let declared: Promise<void> | undefined;

  async function declareExchanges(channel: Channel): Promise<void> {
    await channel.assertExchange(fanout, "fanout", { durable: true });
    await channel.assertExchange(byLevel, "direct", { durable: true });
    // A fanout exchange ignores the routing key but passes it on, so the level exchange can route by it.
    await channel.bindExchange(byLevel, fanout, "");
  }

  function ensureExchanges(): Promise<void> {
    if (!declared) {
      const pending = connection.withAdminChannel("logs", declareExchanges);
      declared = pending;
      pending.catch(() => {
        if (declared === pending) declared = undefined;
      });
    }
    return declared;
  }

  function encode(entry: LogEntry): Buffer {
    const content = Buffer.from(JSON.stringify(entry), "utf8");
    if (content.length <= options.maxPayloadBytes) return content;
    // Throwing would make the logs facade re-send the same entry forever, so an oversized entry is cut down instead.
    const trimmed: LogEntry = {
      ...entry,
      message: entry.message.slice(0, 1_000),
      fields: { truncated: true, originalBytes: content.length, maxBytes: options.maxPayloadBytes },
    };
    delete trimmed.error;
    return Buffer.from(JSON.stringify(trimmed), "utf8");
  }

  return {
    name: options.name,
    capabilities,

    async write(entries: LogEntry[]) {
      if (connection.state !== "connected") {
        // The logs facade sends these entries to its fallback sink and re-sends them once this call succeeds again.
        throw new UnavailableError(`[@bridge/rabbitmq] Cannot write ${entries.length} log entries: RabbitMQ at ${options.maskedUrl} is ${connection.state}.`, {
          role: "logs",
          integration: "rabbitmq",
        });
      }
      await ensureExchanges();
      await Promise.all(
        entries.map((entry) =>
          connection.publish({
            exchange: fanout,
            routingKey: entry.level,
            content: encode(entry),
            options: { contentType: "application/json", messageId: entry.id, ...(entry.tenantId ? { headers: { "x-bridge-tenant": entry.tenantId } } : {}) },
            role: "logs",
          }),
        ),
      );
    },

    async subscribe(handler: (entry: LogEntry) => void, subscribeOptions: { levels?: LogLevel[]; from?: Date | string } = {}): Promise<LogSubscription> {
      if (typeof handler !== "function") {
        throw new ValidationError("Invalid log subscription handler: pass a function.", { role: "logs", integration: "rabbitmq" });
      }
      const levels = subscribeOptions.levels;
      if (levels !== undefined) {
        const unknown = Array.isArray(levels) ? levels.filter((level) => !LOG_LEVELS.includes(level)) : [levels];
        if (!Array.isArray(levels) || unknown.length > 0 || levels.length === 0) {
          throw new ValidationError(`Invalid log levels ${JSON.stringify(levels)}: pass a non-empty list of ${LOG_LEVELS.join(", ")}.`, {
            role: "logs",
            integration: "rabbitmq",
          });
        }
      }
      if (subscribeOptions.from !== undefined) {
        throw new BridgeError(
          `[@bridge/rabbitmq] Cannot subscribe to logs from ${String(subscribeOptions.from)}: a fanout exchange keeps no history. Subscribe without "from", or query a sink that stores entries, such as mongodb.`,
          { code: "NOT_SUPPORTED", role: "logs", integration: "rabbitmq" },
        );
      }
      await ensureExchanges();

      const subscription = new BrokerSubscription(connection, {
        role: "logs",
        label: levels ? `logs ${levels.join(",")}` : "logs",
        prefetch: 0,
        noAck: true,
        async declare(channel) {
          await declareExchanges(channel);
          const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true, durable: false });
          if (levels === undefined) {
            await channel.bindQueue(queue, fanout, "");
          } else {
            for (const level of new Set(levels)) await channel.bindQueue(queue, byLevel, level);
          }
          return queue;
        },
        async onMessage(message) {
          let entry: LogEntry;
          try {
            entry = JSON.parse(message.content.toString("utf8")) as LogEntry;
          } catch {
            // A foreign message on the logs exchange: skip it, because logging about it would feed the same exchange.
            return;
          }
          try {
            handler(entry);
          } catch {
            // The subscriber's own bug; logging it here would loop back into this exchange.
          }
        },
      });
      await subscription.start();
      subscriptions.add(subscription);
      return {
        async close() {
          subscriptions.delete(subscription);
          await subscription.close();
        },
      };
    },

    async close() {
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
      subscriptions.clear();
    },
  };
}
