// Logs role on Kafka: entries go as JSON records to one topic (`system-logs`
// by default, kept 7 days), keyed by tenant, in the batches the logs facade
// hands over. Subscribers read the stream from now or from a time. Kafka
// cannot filter stored records, so there is no query.
import { randomUUID } from "node:crypto";
import { LOG_LEVELS, ValidationError, type LogEntry, type LogLevel, type LogSink, type LogSubscription, type Logger } from "@bridge/core";
import type { KafkaClient, ProduceRecord } from "./client.js";
import { kafkaError, type ResolvedOptions } from "./options.js";
import type { Sender } from "./sender.js";
import { errorMessage } from "./sender.js";
import { StreamReader } from "./stream.js";
import type { TopicRegistry } from "./topics.js";

export interface LogsDeps {
  client: () => KafkaClient;
  sender: Sender;
  topics: TopicRegistry;
  options: ResolvedOptions;
  logger: () => Logger;
}

export function createLogSink(deps: LogsDeps): LogSink {
  const { options, sender } = deps;
  const topic = options.logsTopic;
  const subscriptions = new Set<StreamReader>();
  let closed = false;

  async function ensureTopic(): Promise<void> {
    try {
      await deps.topics.ensure([deps.topics.streamSpec(topic, options.logsRetentionMs)]);
    } catch (error) {
      throw kafkaError(
        `Could not create the logs topic "${topic}" (KAFKA_LOGS_TOPIC): ${errorMessage(error)}. Check that the brokers are reachable and that this client may create topics, or create it beforehand.`,
        "UNAVAILABLE",
        "logs",
        { retryable: true, cause: error, details: { topic } },
      );
    }
  }

  function record(entry: LogEntry): ProduceRecord {
    let value = Buffer.from(JSON.stringify(entry), "utf8");
    if (value.length > options.maxPayloadBytes) {
      // One oversized entry must not fail its whole batch, so it is stored without its fields.
      const { fields: _fields, error, ...rest } = entry;
      const trimmed: LogEntry = {
        ...rest,
        message: rest.message.slice(0, 10_000),
        fields: { truncated: `the entry was ${value.length} bytes, over the limit of ${options.maxPayloadBytes}; its fields were dropped` },
        ...(error ? { error: { name: error.name, message: error.message.slice(0, 10_000) } } : {}),
      };
      value = Buffer.from(JSON.stringify(trimmed), "utf8");
    }
    return { topic, key: entry.tenantId ?? null, value };
  }

  return {
    name: options.name,
    capabilities: { query: false, subscribe: true, persistent: true },

    async write(entries: LogEntry[]): Promise<void> {
      if (closed) throw kafkaError("Cannot write logs: the Kafka logs sink is closed.", "CLOSED", "logs");
      if (!Array.isArray(entries)) {
        throw new ValidationError(`Invalid log write ${JSON.stringify(entries)}: pass an array of log entries.`, { role: "logs", integration: "kafka" });
      }
      if (entries.length === 0) return;
      await ensureTopic();
      await sender.send(entries.map(record), "logs");
    },

    async subscribe(handler: (entry: LogEntry) => void, subscribeOptions: { levels?: LogLevel[]; from?: Date | string } = {}): Promise<LogSubscription> {
      if (closed) throw kafkaError("Cannot subscribe to logs: the Kafka logs sink is closed.", "CLOSED", "logs");
      if (typeof handler !== "function") {
        throw new ValidationError(`Invalid logs handler ${typeof handler}: pass a function that takes a log entry.`, { role: "logs", integration: "kafka" });
      }
      const levels = subscribeOptions.levels;
      if (levels !== undefined && (!Array.isArray(levels) || levels.some((level) => !LOG_LEVELS.includes(level)))) {
        throw new ValidationError(`Invalid log levels ${JSON.stringify(levels)}: pass some of ${LOG_LEVELS.join(", ")}.`, { role: "logs", integration: "kafka" });
      }
      let from: "now" | number = "now";
      if (subscribeOptions.from !== undefined) {
        from = new Date(subscribeOptions.from).getTime();
        if (Number.isNaN(from)) {
          throw new ValidationError(`Invalid logs subscription start ${JSON.stringify(subscribeOptions.from)}: pass a Date or an ISO 8601 time.`, { role: "logs", integration: "kafka" });
        }
      }
      const selectedLevels = levels === undefined ? undefined : new Set<string>(levels);

      await ensureTopic();
      const reader = new StreamReader(
        deps.client,
        {
          groupId: `${options.groupId}.logs.subscriber.${randomUUID()}`,
          topic,
          from,
          shared: false,
          onMessage: async (message) => {
            if (message.value === null) return;
            let entry: LogEntry;
            try {
              entry = JSON.parse(message.value.toString("utf8")) as LogEntry;
            } catch (error) {
              deps.logger().warn("skipped a record on the logs topic that is not JSON", { topic, partition: message.partition, offset: message.offset, error: errorMessage(error) });
              return;
            }
            if (selectedLevels !== undefined && !selectedLevels.has(entry.level)) return;
            try {
              handler(entry);
            } catch (error) {
              // NOTE: this goes to the integration's logger, which may be this stream; a handler that always throws makes one entry per entry it receives.
              deps.logger().warn("log subscriber threw", { topic, error: errorMessage(error) });
            }
          },
        },
        deps.logger,
      );
      subscriptions.add(reader);
      try {
        await reader.start();
      } catch (error) {
        subscriptions.delete(reader);
        await reader.stop().catch(() => undefined);
        throw kafkaError(`Could not subscribe to logs topic "${topic}": ${errorMessage(error)}. Check that the brokers are reachable.`, "UNAVAILABLE", "logs", {
          retryable: true,
          cause: error,
        });
      }
      return {
        async close() {
          subscriptions.delete(reader);
          await reader.stop();
        },
      };
    },

    async flush(): Promise<void> {
      await sender.flush();
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((reader) => reader.stop()));
      subscriptions.clear();
    },
  };
}
