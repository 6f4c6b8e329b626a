import { createMemoryData } from "@bridge/core";
import { runDataSuite } from "../../src/index.js";

runDataSuite({
  provider: "embedded",
  capabilities: { transactions: false, changeStreams: false, textSearch: false, persistent: false },
  create: async () => ({ data: createMemoryData() }),
});
