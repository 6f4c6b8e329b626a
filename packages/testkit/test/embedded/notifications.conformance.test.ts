import { createMemoryNotifications } from "@bridge/core";
import { quietLogger, runNotificationsSuite } from "../../src/index.js";

runNotificationsSuite({
  provider: "embedded",
  capabilities: { groups: true, replay: false, persistent: false },
  // The throwing-handler case makes the provider log errors on purpose; they stay in memory.
  create: async () => ({ notifications: createMemoryNotifications({ logger: quietLogger() }) }),
});
