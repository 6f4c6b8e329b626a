// The testkit suites of the queue, logs and notifications roles against the
// local Kafka. Each case gets its own namespace as topic prefix and group id,
// and deletes its topics and groups afterwards.
import { runLogsSuite, runNotificationsSuite, runQueueSuite } from "@bridge/testkit";
import { kafka } from "../src/index.js";
import { deleteNamespace, describeWithKafka, FAST, KAFKA_BROKERS, produceRaw, testLogger } from "./helpers.js";

describeWithKafka("kafka conformance", () => {
  runQueueSuite({
    provider: "kafka",
    capabilities: { priority: false, delay: true, orderingByKey: true, replayFromOffset: true, persistent: true, idempotentPublish: true },
    async create(namespace, timings) {
      const integration = kafka({
        brokers: KAFKA_BROKERS,
        queueTopicPrefix: `${namespace}.jobs`,
        groupId: namespace,
        leaseMs: timings.leaseMs,
        backoffBaseMs: timings.backoffBaseMs,
        ...FAST,
      });
      await integration.start({ logger: testLogger().logger });
      const queue = integration.modules.queue;
      return {
        queue,
        async injectRaw(task, raw) {
          const topics = await queue.ensureTopics(task);
          await produceRaw(topics.main, [raw]);
        },
        async cleanup() {
          await integration.stop({ deadlineMs: 1_000 });
          await deleteNamespace(namespace);
        },
      };
    },
  });

  runLogsSuite({
    provider: "kafka",
    capabilities: { query: false, subscribe: true, persistent: true },
    async create(namespace) {
      const integration = kafka({ brokers: KAFKA_BROKERS, logsTopic: `${namespace}.logs`, groupId: namespace, ...FAST });
      await integration.start({ logger: testLogger().logger });
      return {
        sink: integration.modules.logs,
        async cleanup() {
          await integration.stop({ deadlineMs: 1_000 });
          await deleteNamespace(namespace);
        },
      };
    },
  });

  runNotificationsSuite({
    provider: "kafka",
    capabilities: { groups: true, replay: true, persistent: true },
    async create(namespace) {
      const integration = kafka({ brokers: KAFKA_BROKERS, notificationsTopic: `${namespace}.notifications`, groupId: namespace, ...FAST });
      await integration.start({ logger: testLogger().logger });
      return {
        notifications: integration.modules.notifications,
        async cleanup() {
          await integration.stop({ deadlineMs: 1_000 });
          await deleteNamespace(namespace);
        },
      };
    },
  });
});
