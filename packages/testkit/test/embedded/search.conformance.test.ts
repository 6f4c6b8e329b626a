import { createMemorySearch } from "@bridge/core";
import { runSearchSuite } from "../../src/index.js";

runSearchSuite({
  provider: "embedded",
  capabilities: {
    fuzzy: true,
    facets: true,
    highlight: true,
    autocomplete: true,
    geoRadius: true,
    geoPolygon: true,
    geoShapes: true,
    deepPagination: true,
    persistent: false,
  },
  create: async () => ({ search: createMemorySearch() }),
});
