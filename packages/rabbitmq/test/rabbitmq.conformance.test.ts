// The testkit suites of the queue, logs and notifications roles against the
// local RabbitMQ. Each case gets its own namespace as queue prefix or exchange
// name, and deletes what it declared afterwards.
import { describeWithService, runLogsSuite, runNotificationsSuite, runQueueSuite } from "@bridge/testkit";
import { rabbitmq } from "../src/index.js";
import { deleteExchanges, deleteTopology, publishForeign, testLogger } from "./helpers.js";

describeWithService("rabbitmq", "rabbitmq conformance", (service) => {
  runQueueSuite({
    provider: "rabbitmq",
    capabilities: { priority: true, delay: true, orderingByKey: false, replayFromOffset: false, persistent: true, idempotentPublish: true },
    async create(namespace, timings) {
      const integration = rabbitmq({ url: service.url, queuePrefix: namespace, leaseMs: timings.leaseMs, backoffBaseMs: timings.backoffBaseMs });
      await integration.start({ logger: testLogger().logger });
      return {
        queue: integration.modules.queue,
        injectRaw: (task, raw) => publishForeign(namespace, task, raw),
        async cleanup() {
          await integration.stop({ deadlineMs: 1_000 });
          await deleteTopology(namespace, [`${namespace}.job`, `${namespace}.other`]);
        },
      };
    },
  });

  runLogsSuite({
    provider: "rabbitmq",
    capabilities: { query: false, subscribe: true, persistent: false },
    async create(namespace) {
      const integration = rabbitmq({ url: service.url, logsExchange: `${namespace}.logs` });
      await integration.start({ logger: testLogger().logger });
      return {
        sink: integration.modules.logs,
        async cleanup() {
          await integration.stop({ deadlineMs: 1_000 });
          await deleteExchanges([`${namespace}.logs.levels`, `${namespace}.logs`]);
        },
      };
    },
  });

  runNotificationsSuite({
    provider: "rabbitmq",
    capabilities: { groups: true, replay: false, persistent: true },
    async create(namespace) {
      const exchange = `${namespace}.notifications`;
      const integration = rabbitmq({ url: service.url, notificationsExchange: exchange });
      await integration.start({ logger: testLogger().logger });
      return {
        notifications: integration.modules.notifications,
        async cleanup() {
          await integration.stop({ deadlineMs: 1_000 });
          await deleteExchanges([exchange], [`${exchange}.billing.${namespace}.order.*`, `${exchange}.audit.${namespace}.order.*`]);
        },
      };
    },
  });
});
