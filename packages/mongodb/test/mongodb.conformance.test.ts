// The testkit's data and logs suites against the real server from
// scripts/services (FerretDB 1.24 on 127.0.0.1:27017 unless MONGODB_URI
// names another address). Capabilities are read from the server before the suites register.
import { describeWithService, runDataSuite, runLogsSuite } from "@bridge/testkit";
import { afterAll, describe } from "vitest";
import { mongodb } from "../src/index.js";
import { dropDatabase, startIntegration, testDatabase } from "./helpers.js";

describeWithService("mongodb", "@bridge/mongodb conformance", (service) => {
  describe("suites", async () => {
    // One integration and database serve every data case; the kit isolates cases by tenant and namespace.
    const database = testDatabase("conformance");
    const shared = await startIntegration(mongodb({ uri: service.url, database }));
    const capabilities = shared.capabilities;

    afterAll(async () => {
      await shared.stop({ deadlineMs: 5_000 });
      await dropDatabase(service.url, database);
    });

    runDataSuite({
      provider: "mongodb",
      capabilities: {
        transactions: capabilities.transactions,
        changeStreams: capabilities.changeStreams,
        textSearch: capabilities.textSearch,
        persistent: true,
      },
      async create() {
        return { data: shared.modules.data };
      },
    });

    // Log queries see the whole collection, so each logs case gets a database of its own.
    runLogsSuite({
      provider: "mongodb",
      capabilities: { query: true, subscribe: capabilities.changeStreams, persistent: true },
      async create(namespace) {
        const logsDatabase = testDatabase(namespace);
        const integration = await startIntegration(mongodb({ uri: service.url, database: logsDatabase }));
        return {
          sink: integration.modules.logs,
          async cleanup() {
            await integration.stop({ deadlineMs: 5_000 });
            await dropDatabase(service.url, logsDatabase);
          },
        };
      },
    });
  });
});
