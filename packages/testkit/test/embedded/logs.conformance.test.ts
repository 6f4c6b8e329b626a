import { createMemoryLogSink } from "@bridge/core";
import { runLogsSuite } from "../../src/index.js";

runLogsSuite({
  provider: "embedded",
  capabilities: { query: true, subscribe: true, persistent: false },
  create: async () => ({ sink: createMemoryLogSink({ stderr: false }) }),
});
