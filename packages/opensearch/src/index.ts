// @bridge/opensearch: the search role of Bridge on OpenSearch 2.x, built on
// the official client (@opensearch-project/opensearch).
import type { Integration, ProviderPackage } from "@bridge/core";
import { OpenSearchConnection } from "./connection.js";
import { envSchema, optionsFromEnv, SECRET_VARIABLES } from "./env.js";
import { resolveOptions, type OpenSearchOptions } from "./options.js";
import { createOpenSearchSearch, type OpenSearchSearch } from "./search.js";

export type { OpenSearchOptions } from "./options.js";
export { maskUrl } from "./options.js";
export { envSchema, type OpenSearchEnv } from "./env.js";
export { CAPABILITIES, type OpenSearchSearch, type ReindexOptions, type ReindexResult } from "./search.js";
export { encodeTenant, indexKind, type IndexKind } from "./naming.js";
export { ANALYSIS, buildMappings } from "./mappings.js";
export { loadUsStateZones, US_STATE_ZONES_INDEX, type ZoneDocument, type ZoneWarehouse } from "./zones.js";

export interface OpenSearchModules {
  search: OpenSearchSearch;
  [key: string]: unknown;
}

/**
 * Creates the OpenSearch integration. Nothing connects until `start()` (or
 * the first search call); `bridge.integrations.opensearch.search` exists at once.
 */
export function opensearch(options: OpenSearchOptions = {}): Integration<OpenSearchModules> {
  const resolved = resolveOptions(options);
  const connection = new OpenSearchConnection(resolved);
  const modules: OpenSearchModules = { search: createOpenSearchSearch(connection) };

  return {
    name: resolved.name,
    roles: ["search"],
    modules,

    async start(context) {
      const info = await connection.start(context.logger);
      if (resolved.replicas > 0) {
        const health = await connection.health();
        const nodes = health.detail?.numberOfNodes;
        if (typeof nodes === "number" && nodes <= resolved.replicas) {
          context.logger.warn("indexes will stay yellow: the cluster has fewer nodes than copies of each shard; set OPENSEARCH_INDEX_REPLICAS=0 on a single node", {
            nodes,
            replicas: resolved.replicas,
            version: info.version,
          });
        }
      }
    },

    health() {
      return connection.health();
    },

    async stop({ deadlineMs }) {
      await connection.close(deadlineMs);
    },
  };
}

/** Read by `createBridgeFromEnv` when `BRIDGE_SEARCH=opensearch`. */
export const provider: ProviderPackage<typeof envSchema> = {
  name: "opensearch",
  roles: ["search"],
  envSchema,
  secretVariables: SECRET_VARIABLES,
  fromEnv(config) {
    return opensearch(optionsFromEnv(config));
  },
};
