// Index management: creates, finds, drops and rebuilds the concrete index
// behind each tenant's alias, and remembers each index definition. The
// definition is also stored in the mapping's `_meta`, so another process (or
// this one after a restart) reads it back instead of needing ensureIndex.
import {
  BridgeError,
  checkDefinition,
  currentTenantId,
  definitionKey,
  isBridgeError,
  NotFoundError,
  ValidationError,
  type IndexDefinition,
} from "@bridge/core";
import type { OpenSearchConnection } from "./connection.js";
import { describe } from "./describe.js";
import { buildMappings, buildSettings, DATE_COPIES, readMeta, type IndexMeta } from "./mappings.js";
import { indexNames, versionOf, type IndexNames } from "./naming.js";
import { INTEGRATION_NAME } from "./options.js";

/** Same rule as the embedded search; names outside it cannot have been created, so they are not found. */
const INDEX_NAME = /^[a-z0-9][a-z0-9_-]{0,127}$/;

/** State of one index of one tenant: its names and its definition. */
export interface IndexState {
  index: string;
  names: IndexNames;
  meta: IndexMeta;
}

export function errorContext(details?: Record<string, unknown>) {
  return { role: "search" as const, integration: INTEGRATION_NAME, tenantId: currentTenantId(), ...(details ? { details } : {}) };
}

export function notFound(index: string): NotFoundError {
  return new NotFoundError(
    `Search index ${describe(index)} not found for tenant "${currentTenantId()}": call ensureIndex({ name: ${describe(index)}, fields }) first`,
    errorContext({ index }),
  );
}

export class IndexRegistry {
  /** Known indexes by alias; the alias already contains the tenant. */
  private readonly known = new Map<string, IndexState>();
  private readonly creating = new Map<string, Promise<void>>();

  constructor(private readonly connection: OpenSearchConnection) {}

  /** Server names of an index for the current tenant, or undefined when the name is invalid or too long. */
  namesOf(index: string): IndexNames | undefined {
    if (typeof index !== "string" || !INDEX_NAME.test(index)) return undefined;
    return indexNames(this.connection.options, currentTenantId(), index);
  }

  /** Returns the state of an index of the current tenant; throws NotFoundError when it does not exist. */
  async require(index: string): Promise<IndexState> {
    const names = this.namesOf(index);
    if (names === undefined) throw notFound(index);
    const cached = this.known.get(names.alias);
    if (cached !== undefined) return cached;

    const state = await this.fetch(index, names);
    if (state === undefined) throw notFound(index);
    return state;
  }

  /** Forgets an index after the server reported it missing, so the next call reads it again. */
  forget(index: string): void {
    const names = this.namesOf(index);
    if (names !== undefined) this.known.delete(names.alias);
  }

  async ensure(definition: IndexDefinition): Promise<void> {
    const problems = definitionProblems(definition);
    if (problems.length > 0) {
      throw new ValidationError(`Invalid definition of search index ${describe(definition?.name)}: ${problems.join("; ")}`, errorContext({ problems }));
    }
    const names = this.namesOf(definition.name);
    if (names === undefined) {
      throw new ValidationError(
        `Search index "${definition.name}" of tenant "${currentTenantId()}" needs a server name longer than OpenSearch allows: use a shorter index name, tenant id or OPENSEARCH_INDEX_PREFIX`,
        errorContext({ index: definition.name }),
      );
    }

    // Concurrent calls for one alias share one creation, so the process sends one create request.
    const running = this.creating.get(names.alias);
    if (running !== undefined) {
      await running;
      this.checkSame(definition, this.known.get(names.alias));
      return;
    }
    const creation = this.create(definition, names);
    this.creating.set(names.alias, creation);
    try {
      await creation;
    } finally {
      this.creating.delete(names.alias);
    }
  }

  private async create(definition: IndexDefinition, names: IndexNames): Promise<void> {
    const existing = this.known.get(names.alias) ?? (await this.fetch(definition.name, names));
    if (existing !== undefined) {
      this.checkSame(definition, existing);
      return;
    }

    const concrete = names.version(1);
    try {
      await this.connection.request(`create search index "${definition.name}"`, (client) =>
        client.indices.create({
          index: concrete,
          body: { settings: buildSettings(this.connection.options), mappings: buildMappings(definition), aliases: { [names.alias]: {} } },
        } as never),
      );
    } catch (error) {
      const type = isBridgeError(error) ? error.details.type : undefined;
      if (type === "resource_already_exists_exception") {
        // Another process created it first; its definition must match.
        const raced = await this.fetch(definition.name, names);
        if (raced === undefined) {
          throw new BridgeError(
            `Index "${concrete}" exists on OpenSearch without its alias "${names.alias}", probably left by an interrupted run: delete it, then call ensureIndex again`,
            { ...errorContext({ index: definition.name, concrete }), code: "CONFLICT" },
          );
        }
        this.checkSame(definition, raced);
        return;
      }
      if (type === "invalid_alias_name_exception" || type === "invalid_index_name_exception") {
        throw new BridgeError(
          `Cannot create search index "${definition.name}": an index named "${names.alias}" already exists on OpenSearch and was not made by Bridge. Delete it or change OPENSEARCH_INDEX_PREFIX`,
          { ...errorContext({ index: definition.name, alias: names.alias }), code: "CONFLICT", cause: error },
        );
      }
      throw error;
    }

    const state: IndexState = { index: definition.name, names, meta: readMeta(buildMappings(definition))! };
    this.known.set(names.alias, state);
    this.connection.logger.info("created search index", { index: definition.name, alias: names.alias, concrete, tenantId: currentTenantId(), kind: state.meta.kind });
  }

  private checkSame(definition: IndexDefinition, existing: IndexState | undefined): void {
    if (existing === undefined || existing.meta.key === definitionKey(definition)) return;
    throw new BridgeError(
      `Search index "${definition.name}" already exists with a different definition: call dropIndex("${definition.name}") first, then ensureIndex again and re-index, or rebuild it without downtime with reindex("${definition.name}", documents, { definition })`,
      { ...errorContext({ index: definition.name }), code: "CONFLICT" },
    );
  }

  /** Reads the definition of an index from its mapping; undefined when the alias does not exist. */
  private async fetch(index: string, names: IndexNames): Promise<IndexState | undefined> {
    let body: Record<string, { mappings?: unknown }>;
    try {
      const response = await this.connection.request(`read the mapping of search index "${index}"`, (client) =>
        client.indices.getMapping({ index: names.alias } as never),
      );
      body = response.body as Record<string, { mappings?: unknown }>;
    } catch (error) {
      if (isBridgeError(error, "NOT_FOUND")) return undefined;
      throw error;
    }

    const entries = Object.entries(body);
    const meta = entries.length === 1 ? readMeta(entries[0]![1].mappings) : undefined;
    if (meta === undefined) {
      throw new BridgeError(
        `OpenSearch has "${names.alias}" (${entries.map(([name]) => name).join(", ")}) but not as one index made by @bridge/opensearch: delete it, or change OPENSEARCH_INDEX_PREFIX`,
        { ...errorContext({ index, alias: names.alias }), code: "CONFLICT" },
      );
    }
    const state: IndexState = { index, names, meta };
    this.known.set(names.alias, state);
    return state;
  }

  /** Deletes every version of an index of the current tenant; a missing index is a no-op. */
  async drop(index: string): Promise<void> {
    const names = this.namesOf(index);
    if (names === undefined) return;
    this.known.delete(names.alias);

    const concrete = await this.versionsOf(names);
    if (concrete.length === 0) return;
    await this.connection.request(`drop search index "${index}"`, (client) => client.indices.delete({ index: concrete.join(","), ignore_unavailable: true } as never));
    this.connection.logger.info("dropped search index", { index, alias: names.alias, concrete, tenantId: currentTenantId() });
  }

  /** Names of every concrete version of an index, aliased or not. */
  async versionsOf(names: IndexNames): Promise<string[]> {
    const response = await this.connection.request(`list the versions of "${names.alias}"`, (client) =>
      client.cat.indices({ index: names.versionPattern, format: "json", h: "index", expand_wildcards: "all" } as never),
    );
    const rows = response.body as unknown as Array<{ index?: string }>;
    return rows.map((row) => row.index).filter((name): name is string => typeof name === "string" && versionOf(names.alias, name) !== undefined);
  }

  /** Concrete indexes the alias points at now. */
  async aliasTargets(names: IndexNames): Promise<string[]> {
    try {
      const response = await this.connection.request(`read alias "${names.alias}"`, (client) => client.indices.getAlias({ name: names.alias } as never));
      return Object.keys(response.body as Record<string, unknown>);
    } catch (error) {
      if (isBridgeError(error, "NOT_FOUND")) return [];
      throw error;
    }
  }

  /** Records the state of an index after a reindex moved its alias. */
  remember(state: IndexState): void {
    this.known.set(state.names.alias, state);
  }
}

/** Problems of a definition in plain words: core's checks, plus the field name this package reserves. */
export function definitionProblems(definition: IndexDefinition): string[] {
  const problems = checkDefinition(definition);
  if (typeof definition?.fields === "object" && definition.fields !== null && Object.hasOwn(definition.fields, DATE_COPIES)) {
    problems.push(`field "${DATE_COPIES}" is reserved by @bridge/opensearch for the indexed copy of date fields: rename it`);
  }
  return problems;
}
