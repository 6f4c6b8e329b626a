import { createMemoryNotifications } from "@bridge/core";
import { runNotificationsSuite } from "../../src/index.js";
import { quietLogger } from "../quiet-logger.js";

runNotificationsSuite({
  provider: "embedded",
  capabilities: { groups: true, replay: false, persistent: false },
  // The throwing-handler case makes the provider log errors on purpose; they stay in memory.
  create: async () => ({ notifications: createMemoryNotifications({ logger: quietLogger() }) }),
});
