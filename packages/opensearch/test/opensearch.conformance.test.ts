// The testkit's search suite against the local OpenSearch. Each case gets its
// own namespace as index prefix and deletes its indexes afterwards.
import { describeWithService, runSearchSuite } from "@bridge/testkit";
import { CAPABILITIES, opensearch } from "../src/index.js";
import { deleteIndexes, testLogger } from "./helpers.js";

describeWithService("opensearch", "opensearch conformance", (service) => {
  runSearchSuite({
    provider: "opensearch",
    capabilities: CAPABILITIES,
    async create(namespace) {
      const integration = opensearch({ node: service.url, indexPrefix: namespace, replicas: 0 });
      await integration.start({ logger: testLogger().logger });
      return {
        search: integration.modules.search,
        async cleanup() {
          await integration.stop({ deadlineMs: 1_000 });
          await deleteIndexes(namespace);
        },
      };
    },
  });
});
