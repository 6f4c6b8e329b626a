// The search role on OpenSearch. Each tenant's logical index is an alias
// `<prefix>.<tenant>.<index>` over one concrete index, so one tenant's
// requests never name another tenant's index.
import type { Client } from "@opensearch-project/opensearch";
import {
  currentTenantId,
  isBridgeError,
  isGeoPoint,
  TimeoutError,
  UnavailableError,
  ValidationError,
  type BulkIndexResult,
  type GeoPoint,
  type IndexDefinition,
  type SearchCapabilities,
  type SearchDocument,
  type SearchHit,
  type SearchQuery,
  type SearchResult,
  type SearchRole,
} from "@bridge/core";
import { buildAutocompleteBody, suggestValues } from "./autocomplete.js";
import { bulkIndexDocuments } from "./bulk.js";
import type { OpenSearchConnection } from "./connection.js";
import { describe } from "./describe.js";
import { checkSchemaOf, prepareDocument, serializeSource } from "./documents.js";
import { definitionProblems, errorContext, IndexRegistry, notFound, type IndexState } from "./indexes.js";
import { autocompleteFieldOf, buildMappings, buildSettings, readMeta } from "./mappings.js";
import { versionOf } from "./naming.js";
import { buildSearchBody, planSearch, readSearchResponse } from "./query.js";
import { describeServerError, type ServerError } from "./server-errors.js";
import { distinctWords } from "./text.js";

export const CAPABILITIES: SearchCapabilities = {
  fuzzy: true,
  facets: true,
  highlight: true,
  autocomplete: true,
  geoRadius: true,
  geoPolygon: true,
  geoShapes: true,
  deepPagination: true,
  persistent: true,
};

const DEFAULT_AUTOCOMPLETE_LIMIT = 10;
/** Hits per request while collecting every shape that contains a point. */
const SHAPES_PAGE_SIZE = 500;
/** Failures listed in the message of a reindex that did not swap. */
const FAILURES_IN_MESSAGE = 3;

export interface ReindexOptions {
  /** New definition of the index; the current one when absent. Required when the index does not exist yet. */
  definition?: IndexDefinition;
  onProgress?: (done: number, total: number) => void;
  /** Swaps even when some documents failed, which then are missing from the new index. Default false: the old index stays. */
  allowFailures?: boolean;
}

export interface ReindexResult extends BulkIndexResult {
  /** Concrete index the alias points at now. */
  index: string;
  /** Concrete indexes the alias pointed at before; deleted in the same step as the swap. */
  previous: string[];
}

/** The search role plus what only OpenSearch offers, reachable as `bridge.integrations.opensearch.search`. */
export interface OpenSearchSearch extends SearchRole {
  shapesContaining<T = SearchDocument>(index: string, field: string, point: GeoPoint): Promise<SearchHit<T>[]>;
  /**
   * Rebuilds an index from `documents` without downtime: indexes them into a
   * new concrete index, then moves the tenant's alias to it and deletes the
   * old one in one atomic step. Searches see the old index until the swap.
   */
  reindex(index: string, documents: SearchDocument[], options?: ReindexOptions): Promise<ReindexResult>;
  /** The alias on the server that serves `index` for the current tenant. */
  aliasOf(index: string): string;
  /** The official client, for requests the role does not cover. */
  readonly client: Client;
}

export function createOpenSearchSearch(connection: OpenSearchConnection): OpenSearchSearch {
  const options = connection.options;
  const registry = new IndexRegistry(connection);

  /** Runs a request on an index. When the server reports the index missing, forgets it and throws NotFoundError. */
  async function onIndex<T>(index: string, operation: string, send: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await connection.request(operation, send);
    } catch (error) {
      if (isBridgeError(error, "NOT_FOUND")) {
        registry.forget(index);
        throw notFound(index);
      }
      throw error;
    }
  }

  const role: OpenSearchSearch = {
    capabilities: CAPABILITIES,

    get client() {
      return connection.client;
    },

    aliasOf(index) {
      const names = registry.namesOf(index);
      if (names === undefined) throw new ValidationError(`Search index name ${describe(index)} is invalid or too long for OpenSearch`, errorContext({ index }));
      return names.alias;
    },

    async ensureIndex(definition) {
      await registry.ensure(definition);
    },

    async dropIndex(index) {
      await registry.drop(index);
    },

    async index(index, document) {
      const state = await registry.require(index);
      const prepared = prepareDocument(state.meta.definition, checkSchemaOf(state.meta.definition), document);
      if (!prepared.ok) throw new ValidationError(prepared.message, errorContext({ index, id: prepared.id }));
      const serialized = serializeSource(prepared.id, prepared.source);
      if (!serialized.ok) throw new ValidationError(serialized.message, errorContext({ index, id: prepared.id }));

      await onIndex(index, `index document "${prepared.id}" into search index "${index}"`, (client) =>
        client.index({ index: state.names.alias, id: prepared.id, body: serialized.json, require_alias: true, refresh: options.writeRefresh } as never),
      );
    },

    async bulkIndex(index, documents, bulkOptions = {}) {
      const state = await registry.require(index);
      if (!Array.isArray(documents)) {
        throw new ValidationError(`bulkIndex on index "${index}" takes an array of documents, got ${describe(documents)}`, errorContext({ index }));
      }
      const result = await bulkIndexDocuments(connection, state, {
        target: state.names.alias,
        requireAlias: true,
        documents,
        onProgress: bulkOptions.onProgress,
        waitForRefresh: options.writeRefresh === "wait_for",
      });
      // One refresh for the whole call rather than one per chunk.
      if (options.writeRefresh === true && result.indexed > 0) {
        await onIndex(index, `refresh search index "${index}" after a bulk`, (client) => client.indices.refresh({ index: state.names.alias } as never));
      }
      return result;
    },

    async delete(index, id) {
      const state = await registry.require(index);
      // No document can have such an id, and an empty one would change the request path.
      if (typeof id !== "string" || id.length === 0 || id.length > 512) return false;
      const response = await onIndex(index, `delete document "${id}" from search index "${index}"`, (client) =>
        client.delete({ index: state.names.alias, id, refresh: options.writeRefresh } as never, { ignore: [404] }),
      );
      const body = response.body as { result?: string; error?: unknown };
      if (body.error !== undefined) {
        registry.forget(index);
        throw notFound(index);
      }
      return body.result === "deleted";
    },

    async search<T = SearchDocument>(query: SearchQuery): Promise<SearchResult<T>> {
      if (typeof query !== "object" || query === null) {
        throw new ValidationError(`search takes a query object such as { index: "products", text: "phone" }, got ${describe(query)}`, errorContext());
      }
      const state = await registry.require(query.index);
      const plan = planSearch(state.meta.definition, query, options.maxResults, errorContext());
      const body = buildSearchBody(plan, options.searchTimeoutMs, options.scoring);

      const response = await onIndex(query.index, `search index "${query.index}"`, (client) =>
        client.search({ index: state.names.alias, body } as never, { requestTimeout: options.searchTimeoutMs + 1_000 }),
      );
      const result = response.body as Parameters<typeof readSearchResponse>[1] & { timed_out?: boolean; _shards?: { failed?: number; failures?: Array<{ reason?: ServerError }> } };
      checkComplete(query.index, result);
      return readSearchResponse<T>(plan, result);
    },

    async autocomplete(index, prefix, autocompleteOptions = {}) {
      const state = await registry.require(index);
      const definition = state.meta.definition;
      const limit = autocompleteOptions.limit ?? Math.min(DEFAULT_AUTOCOMPLETE_LIMIT, options.maxResults);
      if (!Number.isInteger(limit) || limit < 1 || limit > options.maxResults) {
        throw new ValidationError(`autocomplete limit must be an integer from 1 to ${options.maxResults}, got ${describe(limit)}`, errorContext({ index }));
      }
      const indexedField = autocompleteFieldOf(definition);
      const field = autocompleteOptions.field ?? indexedField;
      if (field === undefined || definition.fields[field] !== "text") {
        throw new ValidationError(
          `autocomplete needs a text field of index "${index}", got ${describe(field)}: pass options.field or set autocompleteField in the index definition`,
          errorContext({ index, field }),
        );
      }
      if (typeof prefix !== "string") {
        throw new ValidationError(`autocomplete prefix must be a string, got ${describe(prefix)}`, errorContext({ index }));
      }

      const terms = distinctWords(prefix);
      if (terms.length === 0) return [];
      const body = buildAutocompleteBody(field, field === indexedField, terms, prefix, limit, options.searchTimeoutMs, options.scoring);
      const response = await onIndex(index, `autocomplete on search index "${index}"`, (client) =>
        client.search({ index: state.names.alias, body } as never, { requestTimeout: options.searchTimeoutMs + 1_000 }),
      );
      const hits = (response.body as { hits: { hits: Array<{ _score?: number | null; _source?: Record<string, unknown> }> } }).hits.hits;
      return suggestValues(
        hits.map((hit) => ({ score: hit._score ?? 0, source: hit._source })),
        field,
        terms,
        prefix,
        limit,
      );
    },

    async shapesContaining<T = SearchDocument>(index: string, field: string, point: GeoPoint): Promise<SearchHit<T>[]> {
      const state = await registry.require(index);
      if (state.meta.definition.fields[field] !== "geo_shape") {
        throw new ValidationError(`shapesContaining needs a geo_shape field of index "${index}", got ${describe(field)}`, errorContext({ index, field }));
      }
      if (!isGeoPoint(point)) {
        throw new ValidationError(`shapesContaining needs a point { lat: -90..90, lon: -180..180 }, got ${describe(point)}`, errorContext({ index }));
      }

      // A point on a shared border is in both shapes, as in the embedded search.
      const query = { constant_score: { filter: { geo_shape: { [field]: { shape: { type: "point", coordinates: [point.lon, point.lat] }, relation: "intersects" } } } } };
      const hits: SearchHit<T>[] = [];
      let searchAfter: unknown[] | undefined;
      for (;;) {
        const body = { query, sort: [{ id: "asc" }], size: SHAPES_PAGE_SIZE, ...(searchAfter ? { search_after: searchAfter } : {}), timeout: `${options.searchTimeoutMs}ms` };
        const response = await onIndex(index, `find shapes containing a point in search index "${index}"`, (client) =>
          client.search({ index: state.names.alias, body } as never, { requestTimeout: options.searchTimeoutMs + 1_000 }),
        );
        const result = response.body as { timed_out?: boolean; hits: { hits: Array<{ _id: string; _source?: T; sort?: unknown[] }> } };
        checkComplete(index, result);
        for (const hit of result.hits.hits) hits.push({ id: hit._id, score: 1, document: hit._source as T });
        if (result.hits.hits.length < SHAPES_PAGE_SIZE) break;
        searchAfter = result.hits.hits.at(-1)?.sort;
      }
      return hits;
    },

    async refresh(index) {
      const state = await registry.require(index);
      await onIndex(index, `refresh search index "${index}"`, (client) => client.indices.refresh({ index: state.names.alias } as never));
    },

    async count(index) {
      const state = await registry.require(index);
      const response = await onIndex(index, `count documents of search index "${index}"`, (client) => client.count({ index: state.names.alias } as never));
      return (response.body as { count: number }).count;
    },

    async reindex(index, documents, reindexOptions = {}) {
      if (!Array.isArray(documents)) {
        throw new ValidationError(`reindex of index "${index}" takes an array of documents, got ${describe(documents)}`, errorContext({ index }));
      }
      const definition = reindexOptions.definition ?? (await registry.require(index)).meta.definition;
      const problems = definitionProblems(definition);
      if (definition.name !== index) problems.push(`name "${definition?.name}" differs from the index "${index}" being rebuilt`);
      if (problems.length > 0) {
        throw new ValidationError(`Invalid definition for reindex of search index ${describe(index)}: ${problems.join("; ")}`, errorContext({ problems }));
      }
      const names = registry.namesOf(index);
      if (names === undefined) throw new ValidationError(`Search index name ${describe(index)} is invalid or too long for OpenSearch`, errorContext({ index }));

      // NOTE: writes through the alias during a reindex go to the old index and are lost at the swap.
      // Next version after every existing one, including leftovers of an interrupted reindex, which are deleted.
      const previous = await registry.aliasTargets(names);
      const versions = await registry.versionsOf(names);
      const next = names.version(Math.max(0, ...versions.map((name) => versionOf(names.alias, name) ?? 0)) + 1);
      const leftovers = versions.filter((name) => !previous.includes(name));
      if (leftovers.length > 0) {
        await connection.request(`delete leftovers of an earlier reindex of "${index}"`, (client) => client.indices.delete({ index: leftovers.join(",") } as never));
      }

      // No replicas and no periodic refresh while loading; both are set to their configured values before the swap.
      const mappings = buildMappings(definition);
      const loadingSettings = { ...buildSettings(options), number_of_replicas: 0, refresh_interval: "-1" };
      await connection.request(`create index "${next}" for a reindex of "${index}"`, (client) =>
        client.indices.create({ index: next, body: { settings: loadingSettings, mappings } } as never),
      );
      const state: IndexState = { index, names, meta: readMeta(mappings)! };
      connection.logger.info("reindex started", { index, tenantId: currentTenantId(), target: next, documents: documents.length });

      let result: BulkIndexResult;
      try {
        // Straight into the new index, which has no alias yet and no periodic refresh.
        result = await bulkIndexDocuments(connection, state, { target: next, requireAlias: false, documents, onProgress: reindexOptions.onProgress });
        if (result.failed.length > 0 && reindexOptions.allowFailures !== true) {
          const sample = result.failed.slice(0, FAILURES_IN_MESSAGE).map((failure) => failure.message).join("; ");
          throw new ValidationError(
            `Reindex of search index "${index}" stopped before the swap: ${result.failed.length} of ${documents.length} documents failed (${sample}). The old index still serves searches; fix the documents, or pass allowFailures: true`,
            errorContext({ index, failed: result.failed.slice(0, 100), indexed: result.indexed }),
          );
        }
        await connection.request(`apply the settings of "${next}"`, (client) =>
          client.indices.putSettings({ index: next, body: { index: { number_of_replicas: options.replicas, refresh_interval: options.refreshInterval } } } as never),
        );
        await connection.request(`refresh "${next}"`, (client) => client.indices.refresh({ index: next } as never));
        await connection.request(`move alias "${names.alias}" to "${next}"`, (client) =>
          client.indices.updateAliases({
            body: { actions: [{ add: { index: next, alias: names.alias } }, ...previous.map((old) => ({ remove_index: { index: old } }))] },
          } as never),
        );
      } catch (error) {
        await connection
          .request(`delete "${next}" after a failed reindex`, (client) => client.indices.delete({ index: next } as never))
          .catch((cleanupError: unknown) => connection.logger.warn("could not delete the index of a failed reindex", { index: next, err: cleanupError }));
        throw error;
      }

      registry.remember(state);
      connection.logger.info("reindex finished; alias moved", { index, tenantId: currentTenantId(), alias: names.alias, target: next, previous, indexed: result.indexed, failed: result.failed.length });
      return { ...result, index: next, previous };
    },
  };
  return role;
}

/** Throws when a search returned partial results: timed out on the server, or some shards failed. */
function checkComplete(index: string, body: { timed_out?: boolean; _shards?: { failed?: number; failures?: Array<{ reason?: ServerError }> } }): void {
  if (body.timed_out === true) {
    throw new TimeoutError(
      `Search on index "${index}" timed out on the OpenSearch server and its results would be partial: narrow the query, or raise OPENSEARCH_SEARCH_TIMEOUT`,
      errorContext({ index }),
    );
  }
  const failed = body._shards?.failed ?? 0;
  if (failed > 0) {
    const reason = body._shards?.failures?.[0]?.reason;
    throw new UnavailableError(
      `Search on index "${index}" failed on ${failed} shard(s)${reason ? ` (${describeServerError(reason)})` : ""} and its results would be partial: check the cluster health`,
      errorContext({ index, failedShards: failed }),
    );
  }
}

