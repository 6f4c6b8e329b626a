// Embedded search role on Orama: one in-memory Orama database per tenant and
// index. Orama matches terms (BM25, typo tolerance), filters and geo areas;
// this file combines the terms, sorts, pages, counts facets and highlights.
import { count as oramaCount, create, insert, search as oramaSearch, type AnyOrama } from "@orama/orama";
import { booleanPointInPolygon } from "@turf/boolean-point-in-polygon";
import { BridgeError, InvalidFilterError, NotFoundError, ValidationError } from "../errors.js";
import type { GeoPoint } from "../roles/data/inventory.js";
import type {
  BulkIndexResult,
  FacetValue,
  SearchCapabilities,
  SearchDocument,
  SearchFieldType,
  SearchFilter,
  SearchHit,
  SearchQuery,
  SearchResult,
  SearchRole,
} from "../roles/search.js";
import { currentTenantId } from "../tenant.js";
import {
  buildSchema,
  checkDefinition,
  definitionKey,
  describe,
  isGeoPoint,
  toEpochMs,
  toOramaDocument,
  type GeoShape,
  type IndexSchema,
  searchAfterMismatch,
} from "./search-schema.js";
import { highlightValue, prefixTerms, queryTerms, tokenizer, wordMatches, wordSpans, type QueryTerm } from "./search-text.js";

export interface MemorySearchOptions {
  /** Maximum `pageSize` of a search and `limit` of an autocomplete; 100 when absent. */
  maxResults?: number;
}

const PROVIDER = "memory";
const DEFAULT_MAX_RESULTS = 100;
/** OpenSearch's default `size`. */
const DEFAULT_PAGE_SIZE = 10;
const DEFAULT_FACET_SIZE = 20;
const DEFAULT_AUTOCOMPLETE_LIMIT = 10;
/** Distinct terms per query, OpenSearch's default `indices.query.bool.max_clause_count`; each term is one Orama search. */
const MAX_QUERY_TERMS = 1024;
/** Highest edit distance a query may ask for, as in OpenSearch. */
const MAX_FUZZINESS = 2;
/** Documents indexed between two progress reports (and event loop turns) of a bulk. */
const BULK_CHUNK = 100;
/** Earth radius that Orama's haversine radius filter uses, so distances agree with it. */
const EARTH_RADIUS_KM = 6371;

const CAPABILITIES: SearchCapabilities = {
  fuzzy: true,
  facets: true,
  highlight: true,
  autocomplete: true,
  geoRadius: true,
  geoPolygon: true,
  geoShapes: true,
  deepPagination: true,
  persistent: false,
};

interface IndexState {
  schema: IndexSchema;
  key: string;
  db: AnyOrama;
  /** Documents as indexed, returned in hits. */
  documents: Map<string, SearchDocument>;
  /**
   * Set when a document was replaced or deleted. Orama 3.1 loses other
   * documents' geo and number index entries on remove (a radius search over
   * 10 re-indexed stores found 6), so replacements only mark the index and
   * the next read rebuilds the Orama database from `documents`.
   */
  stale: boolean;
}

type SortValue = string | number | boolean | null;

type SortKey =
  | { kind: "score" }
  | { kind: "field"; field: string; type: SearchFieldType; order: "asc" | "desc" }
  | { kind: "distance"; field: string; from: GeoPoint; order: "asc" | "desc" };

/** A search query after checks, in the terms the steps below use. */
interface SearchPlan {
  /** null when the query has no text, so every document matches. */
  terms: QueryTerm[] | null;
  properties: string[];
  boost: Record<string, number>;
  where: Record<string, unknown> | undefined;
  /** Set when a filter can match no document, such as `in: []`. */
  matchesNothing: boolean;
  sort: SortKey[];
  page: number;
  pageSize: number;
  searchAfter: SortValue[] | undefined;
  facets: string[];
  facetSize: number;
  highlight: boolean;
  /** Point that `distanceKm` of each hit is measured from. */
  distance: { field: string; from: GeoPoint } | undefined;
}

interface RankedHit {
  id: string;
  score: number;
  document: SearchDocument;
  sortValues: SortValue[];
  distanceKm: number | undefined;
}

/**
 * Creates the embedded search role. Indexes live in memory and are separate
 * per tenant: a search, count or document id never reaches another tenant's index.
 */
export function createMemorySearch(options: MemorySearchOptions = {}): SearchRole {
  const maxResults = options.maxResults ?? DEFAULT_MAX_RESULTS;
  if (!Number.isInteger(maxResults) || maxResults < 1) {
    throw new ValidationError(`maxResults of the memory search must be an integer of 1 or more, got ${describe(maxResults)}`, {
      role: "search",
      integration: PROVIDER,
    });
  }
  const tenants = new Map<string, Map<string, IndexState>>();

  function indexesOfTenant(): Map<string, IndexState> {
    const tenantId = currentTenantId();
    let indexes = tenants.get(tenantId);
    if (indexes === undefined) {
      indexes = new Map();
      tenants.set(tenantId, indexes);
    }
    return indexes;
  }

  function requireIndex(name: string): IndexState {
    const state = tenants.get(currentTenantId())?.get(name);
    if (state === undefined) {
      throw new NotFoundError(
        `Search index ${describe(name)} not found for tenant "${currentTenantId()}": call ensureIndex({ name: ${describe(name)}, fields }) first`,
        errorContext({ index: name }),
      );
    }
    return state;
  }

  return {
    capabilities: CAPABILITIES,

    async ensureIndex(definition) {
      const problems = checkDefinition(definition);
      if (problems.length > 0) {
        throw new ValidationError(
          `Invalid definition of search index ${describe(definition?.name)}: ${problems.join("; ")}`,
          errorContext({ problems }),
        );
      }

      const indexes = indexesOfTenant();
      const key = definitionKey(definition);
      const existing = indexes.get(definition.name);
      if (existing !== undefined) {
        if (existing.key === key) return;
        throw new BridgeError(
          `Search index "${definition.name}" already exists with a different definition: call dropIndex("${definition.name}") first, then ensureIndex again and re-index`,
          { ...errorContext({ index: definition.name }), code: "CONFLICT" },
        );
      }

      const schema = buildSchema(definition);
      const db = createDatabase(schema);
      indexes.set(definition.name, { schema, key, db, documents: new Map(), stale: false });
    },

    async dropIndex(index) {
      // Dropping an index that does not exist is a no-op, like ensureIndex on one that does.
      tenants.get(currentTenantId())?.delete(index);
    },

    async index(index, document) {
      const state = requireIndex(index);
      const problem = putDocument(state, document);
      if (problem !== undefined) {
        throw new ValidationError(problem, errorContext({ index, id: (document as { id?: unknown } | null)?.id }));
      }
    },

    async bulkIndex(index, documents, bulkOptions = {}) {
      const state = requireIndex(index);
      if (!Array.isArray(documents)) {
        throw new ValidationError(`bulkIndex on index "${index}" takes an array of documents, got ${describe(documents)}`, errorContext({ index }));
      }

      const result: BulkIndexResult = { indexed: 0, failed: [] };
      for (let position = 0; position < documents.length; position++) {
        const document = documents[position];
        const problem = putDocument(state, document as SearchDocument);
        if (problem === undefined) {
          result.indexed++;
        } else {
          const id = (document as { id?: unknown } | null | undefined)?.id;
          result.failed.push({ id: typeof id === "string" ? id : undefined, index: position, message: problem });
        }

        const done = position + 1;
        if (done % BULK_CHUNK === 0 || done === documents.length) {
          bulkOptions.onProgress?.(done, documents.length);
          // Lets other work run between chunks of a large bulk.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      return result;
    },

    async delete(index, id) {
      const state = requireIndex(index);
      if (!state.documents.has(id)) return false;
      state.documents.delete(id);
      state.stale = true;
      return true;
    },

    async search<T = SearchDocument>(query: SearchQuery): Promise<SearchResult<T>> {
      if (typeof query !== "object" || query === null) {
        throw new ValidationError(`search takes a query object such as { index: "products", text: "phone" }, got ${describe(query)}`, errorContext());
      }
      const state = requireIndex(query.index);
      const plan = planSearch(state, query, maxResults);

      const scores = plan.matchesNothing ? new Map<string, number>() : await matchDocuments(state, plan.terms, plan.properties, plan.boost, plan.where);
      const ranked = rankHits(state, scores, plan);
      const facets = countFacets(state, scores, plan.facets, plan.facetSize);

      const afterCursor = plan.searchAfter === undefined ? ranked : ranked.filter((hit) => compareSortValues(hit.sortValues, plan.searchAfter!, plan.sort) > 0);
      const offset = (plan.page - 1) * plan.pageSize;
      const page = afterCursor.slice(offset, offset + plan.pageSize);
      const hasMore = afterCursor.length > offset + page.length;
      const last = page[page.length - 1];

      return {
        total: scores.size,
        hits: page.map((hit) => toSearchHit<T>(state, hit, plan)),
        facets,
        page: plan.page,
        pageSize: plan.pageSize,
        nextSearchAfter: hasMore && last !== undefined ? last.sortValues : null,
      };
    },

    async autocomplete(index, prefix, autocompleteOptions = {}) {
      const state = requireIndex(index);
      const limit = autocompleteOptions.limit ?? Math.min(DEFAULT_AUTOCOMPLETE_LIMIT, maxResults);
      if (!Number.isInteger(limit) || limit < 1 || limit > maxResults) {
        throw new ValidationError(`autocomplete limit must be an integer from 1 to ${maxResults}, got ${describe(limit)}`, errorContext({ index }));
      }
      const field = autocompleteOptions.field ?? state.schema.autocompleteField;
      if (field === undefined || state.schema.fields[field] !== "text") {
        throw new ValidationError(
          `autocomplete needs a text field of index "${index}", got ${describe(field)}: pass options.field or set autocompleteField in the index definition`,
          errorContext({ index, field }),
        );
      }
      if (typeof prefix !== "string") {
        throw new ValidationError(`autocomplete prefix must be a string, got ${describe(prefix)}`, errorContext({ index }));
      }

      const terms = prefixTerms(prefix);
      if (terms.length === 0) return [];
      const scores = await matchDocuments(state, terms, [field], {}, undefined);
      return suggestValues(state, scores, field, terms, prefix, limit);
    },

    async shapesContaining<T = SearchDocument>(index: string, field: string, point: GeoPoint): Promise<SearchHit<T>[]> {
      const state = requireIndex(index);
      if (state.schema.fields[field] !== "geo_shape") {
        throw new ValidationError(`shapesContaining needs a geo_shape field of index "${index}", got ${describe(field)}`, errorContext({ index, field }));
      }
      if (!isGeoPoint(point)) {
        throw new ValidationError(`shapesContaining needs a point { lat: -90..90, lon: -180..180 }, got ${describe(point)}`, errorContext({ index }));
      }

      const hits: SearchHit<T>[] = [];
      for (const [id, document] of state.documents) {
        const shape = document[field] as GeoShape | undefined | null;
        if (shape === undefined || shape === null) continue;
        // Documents were checked on indexing, so every stored shape is a closed Polygon or MultiPolygon.
        if (booleanPointInPolygon([point.lon, point.lat], shape)) {
          hits.push({ id, score: 1, document: structuredClone(document) as T });
        }
      }
      return hits.sort((a, b) => compareStrings(a.id, b.id));
    },

    async refresh(index) {
      // Writes are visible at once; only the index must exist.
      requireIndex(index);
    },

    async count(index) {
      return requireIndex(index).documents.size;
    },
  };
}

function errorContext(details?: Record<string, unknown>) {
  return { role: "search" as const, integration: PROVIDER, tenantId: currentTenantId(), ...(details ? { details } : {}) };
}

/** Indexes or replaces one document; returns the problem when it does not fit the schema. */
function putDocument(state: IndexState, document: SearchDocument): string | undefined {
  const converted = toOramaDocument(state.schema, document);
  if (!converted.ok) return converted.message;

  let stored: SearchDocument;
  try {
    stored = structuredClone(document);
  } catch (error) {
    return `document "${document.id}" cannot be stored: ${(error as Error).message}. Use plain JSON values`;
  }

  if (state.documents.has(document.id) || state.stale) {
    // The rebuild on the next read inserts this version.
    state.stale = true;
  } else {
    try {
      insert(state.db, converted.document as never);
    } catch (error) {
      return `document "${document.id}" was rejected by the index: ${(error as Error).message}`;
    }
  }
  state.documents.set(document.id, stored);
  return undefined;
}

function createDatabase(schema: IndexSchema): AnyOrama {
  return create({ schema: schema.oramaSchema as never, components: { tokenizer } });
}

/** Returns the Orama database of `state`, rebuilt from the stored documents when a replace or delete made it stale. */
function freshDatabase(state: IndexState): AnyOrama {
  if (!state.stale) return state.db;
  const db = createDatabase(state.schema);
  for (const document of state.documents.values()) {
    const converted = toOramaDocument(state.schema, document);
    // Stored documents passed the same conversion when they were indexed.
    if (converted.ok) insert(db, converted.document as never);
  }
  state.db = db;
  state.stale = false;
  return db;
}

/**
 * Returns the score of each document that matches every term in at least one
 * of `properties` and passes `where`. Each term is one Orama search with its
 * own edit distance, because Orama applies one tolerance to a whole query and
 * fuzziness here depends on the length of each term. Scores add up over terms.
 */
async function matchDocuments(
  state: IndexState,
  terms: QueryTerm[] | null,
  properties: string[],
  boost: Record<string, number>,
  where: Record<string, unknown> | undefined,
): Promise<Map<string, number>> {
  const db = freshDatabase(state);
  const limit = oramaCount(db);
  if (terms === null) {
    const result = await oramaSearch(db, { ...(where ? { where } : {}), limit } as never);
    return new Map(result.hits.map((hit) => [hit.id, 0]));
  }

  let scores: Map<string, number> | undefined;
  for (const term of terms) {
    // NOTE: with a tolerance above 0, Orama also matches every word that starts with the term ("sams" matches "samsung"); OpenSearch does not.
    const result = await oramaSearch(db, {
      term: term.term,
      properties,
      exact: term.tolerance === 0 && !term.prefix,
      tolerance: term.tolerance,
      boost,
      ...(where ? { where } : {}),
      limit,
    } as never);

    const next = new Map<string, number>();
    for (const hit of result.hits) {
      const previous = scores === undefined ? 0 : scores.get(hit.id);
      if (previous !== undefined) next.set(hit.id, previous + hit.score);
    }
    scores = next;
    if (scores.size === 0) break;
  }
  return scores ?? new Map();
}

function planSearch(state: IndexState, query: SearchQuery, maxResults: number): SearchPlan {
  const { schema } = state;
  const fail = (message: string, details?: Record<string, unknown>): never => {
    throw new ValidationError(`Invalid search on index "${query.index}": ${message}`, errorContext({ index: query.index, ...details }));
  };

  // Paging
  const page = query.page ?? 1;
  if (!Number.isInteger(page) || page < 1) fail(`page must be an integer of 1 or more, got ${describe(page)}`);
  const pageSize = query.pageSize ?? Math.min(DEFAULT_PAGE_SIZE, maxResults);
  if (!Number.isInteger(pageSize) || pageSize < 0) fail(`pageSize must be an integer of 0 or more, got ${describe(pageSize)}`);
  if (pageSize > maxResults) {
    fail(`pageSize ${pageSize} is above the maximum of ${maxResults}: ask for fewer hits per page, or page with searchAfter`, { pageSize, maxResults });
  }
  if (query.searchAfter !== undefined && page !== 1) {
    fail(`searchAfter cannot be combined with page ${page}: leave page out and pass nextSearchAfter of the previous result`);
  }

  // Text
  let terms: QueryTerm[] | null = null;
  const fuzzy = query.fuzzy;
  if (fuzzy !== undefined && typeof fuzzy !== "boolean" && !(Number.isInteger(fuzzy) && fuzzy >= 0 && fuzzy <= MAX_FUZZINESS)) {
    fail(`fuzzy must be true, false or an edit distance from 0 to ${MAX_FUZZINESS}, got ${describe(fuzzy)}`);
  }
  if (query.text !== undefined && query.text !== null) {
    if (typeof query.text !== "string") fail(`text must be a string, got ${describe(query.text)}`);
    // Blank text browses like no text; text that has no terms (only punctuation) matches nothing, as an OpenSearch match query does.
    if (query.text.trim() !== "") terms = queryTerms(query.text, fuzzy);
  }
  if (terms !== null && terms.length > MAX_QUERY_TERMS) {
    fail(`text has ${terms.length} distinct terms, above the maximum of ${MAX_QUERY_TERMS}: shorten the query`);
  }

  const boosts = new Map(schema.searchable.map((entry) => [entry.field, entry.boost]));
  const properties = query.fields ?? schema.searchable.map((entry) => entry.field);
  if (!Array.isArray(properties) || (query.fields !== undefined && properties.length === 0)) {
    fail(`fields must be a non-empty array of text field names, got ${describe(properties)}`);
  }
  for (const field of properties) {
    if (schema.fields[field] !== "text") fail(`fields names ${describe(field)}, which is not a text field of this index`, { field });
  }
  if (terms !== null && properties.length === 0) fail("the index has no text field to search: add a text field or search without text");
  const boost = Object.fromEntries(properties.map((field) => [field, boosts.get(field) ?? 1]));

  // Filters and geo
  const conditions: Array<Record<string, unknown>> = [];
  let matchesNothing = false;
  if (query.filters !== undefined && !Array.isArray(query.filters)) fail(`filters must be an array, got ${describe(query.filters)}`);
  for (const filter of query.filters ?? []) {
    const condition = filterCondition(schema, query.index, filter);
    if (condition === null) matchesNothing = true;
    else conditions.push(condition);
  }
  let distance: SearchPlan["distance"];
  if (query.geo !== undefined) {
    const geo = geoCondition(schema, query.index, query.geo);
    conditions.push(geo.condition);
    distance = geo.distance;
  }

  // Sort and cursor
  const sort: SortKey[] = [];
  if (query.sort !== undefined && !Array.isArray(query.sort)) fail(`sort must be an array, got ${describe(query.sort)}`);
  for (const entry of query.sort ?? []) {
    const key = sortKey(schema, query.index, entry);
    sort.push(key);
    if (key.kind === "distance") distance = { field: key.field, from: key.from };
  }
  if (sort.length === 0) sort.push({ kind: "score" });
  const searchAfter = query.searchAfter === undefined ? undefined : checkCursor(query.index, query.searchAfter, sort);

  // Facets
  const facets = query.facets ?? [];
  if (!Array.isArray(facets)) fail(`facets must be an array of keyword field names, got ${describe(facets)}`);
  for (const field of facets) {
    if (schema.fields[field] !== "keyword") {
      fail(`facet ${describe(field)} is not a keyword field of this index; facets count keyword fields: ${fieldsOfType(schema, "keyword")}`, { field });
    }
  }
  const facetSize = query.facetSize ?? DEFAULT_FACET_SIZE;
  if (!Number.isInteger(facetSize) || facetSize < 1) fail(`facetSize must be an integer of 1 or more, got ${describe(facetSize)}`);

  return {
    terms,
    properties,
    boost,
    where: conditions.length > 0 ? { and: conditions } : undefined,
    matchesNothing,
    sort,
    page,
    pageSize,
    searchAfter,
    facets,
    facetSize,
    highlight: query.highlight === true,
    distance,
  };
}

const FILTER_VALUE_FORMS: Record<string, string> = {
  keyword: "a string",
  number: "a finite number",
  boolean: "true or false",
  date: "an ISO 8601 string or epoch milliseconds",
};

/** Turns one filter into an Orama where clause; null when it can match nothing. */
function filterCondition(schema: IndexSchema, index: string, filter: SearchFilter): Record<string, unknown> | null {
  const fail = (message: string): never => {
    throw new InvalidFilterError(`Invalid filter ${describe(filter)} on index "${index}": ${message}`, errorContext({ index, filter }));
  };
  if (typeof filter !== "object" || filter === null) fail("a filter is an object such as { field: \"brand\", eq: \"Apple\" }");

  const field = filter.field;
  const type = schema.fields[field];
  const filterable = `${fieldsOfType(schema, "keyword", "number", "boolean", "date")}`;
  if (type === undefined) fail(`field ${describe(field)} is not in the index; filterable fields: ${filterable}`);
  if (type !== "keyword" && type !== "number" && type !== "boolean" && type !== "date") {
    fail(`field "${field}" is a ${type} field; filters apply to keyword, number, boolean and date fields (${filterable})`);
  }

  const hasEq = "eq" in filter;
  const hasIn = "in" in filter;
  const bounds = (["gte", "lte", "gt", "lt"] as const).filter((bound) => bound in filter && (filter as Record<string, unknown>)[bound] !== undefined);
  if (Number(hasEq) + Number(hasIn) + Number(bounds.length > 0) !== 1) {
    fail("use exactly one of eq, in, or range bounds (gte, lte, gt, lt)");
  }

  const value = (raw: unknown): string | number | boolean => {
    if (type === "keyword" && typeof raw === "string") return raw;
    if (type === "number" && typeof raw === "number" && Number.isFinite(raw)) return raw;
    if (type === "boolean" && typeof raw === "boolean") return raw;
    if (type === "date") {
      const epochMs = toEpochMs(raw);
      if (epochMs !== undefined) return epochMs;
    }
    return fail(`value ${describe(raw)} does not fit ${type} field "${field}": use ${FILTER_VALUE_FORMS[type as string]}`);
  };
  const equals = (raw: unknown): Record<string, unknown> => {
    const checked = value(raw);
    if (type === "keyword") return { [field]: { containsAny: [checked] } };
    if (type === "boolean") return { [field]: checked };
    return { [field]: { eq: checked } };
  };

  if (hasEq) return equals((filter as { eq: unknown }).eq);
  if (hasIn) {
    const values = (filter as { in: unknown }).in;
    if (!Array.isArray(values)) return fail("in must be an array of values");
    if (values.length === 0) return null;
    if (type === "keyword") return { [field]: { containsAny: values.map(value) } };
    return { or: values.map(equals) };
  }

  if (type !== "number" && type !== "date") fail(`range bounds need a number or date field, and "${field}" is a ${type} field`);
  const record = filter as Record<string, unknown>;
  return { and: bounds.map((bound) => ({ [field]: { [bound]: value(record[bound]) } })) };
}

function geoCondition(
  schema: IndexSchema,
  index: string,
  geo: NonNullable<SearchQuery["geo"]>,
): { condition: Record<string, unknown>; distance: SearchPlan["distance"] } {
  const fail = (message: string): never => {
    throw new InvalidFilterError(`Invalid geo query on index "${index}": ${message}`, errorContext({ index, geo }));
  };
  if (typeof geo !== "object" || geo === null) fail(`geo must be an object, got ${describe(geo)}`);
  if (schema.fields[geo.field] !== "geo_point") {
    fail(`field ${describe(geo.field)} is not a geo_point field; geo_point fields: ${fieldsOfType(schema, "geo_point")}`);
  }

  if ("center" in geo) {
    if (!isGeoPoint(geo.center)) fail(`center must be { lat: -90..90, lon: -180..180 }, got ${describe(geo.center)}`);
    if (typeof geo.radiusKm !== "number" || !Number.isFinite(geo.radiusKm) || geo.radiusKm <= 0) {
      fail(`radiusKm must be a number above 0, got ${describe(geo.radiusKm)}`);
    }
    const center = { lat: geo.center.lat, lon: geo.center.lon };
    return {
      condition: { [geo.field]: { radius: { coordinates: center, value: geo.radiusKm, unit: "km", inside: true } } },
      distance: { field: geo.field, from: center },
    };
  }

  if ("polygon" in geo) {
    const points = geo.polygon;
    if (!Array.isArray(points) || !points.every(isGeoPoint)) fail("polygon must be an array of points { lat, lon }");
    const distinct = new Set(points.map((point) => `${point.lat},${point.lon}`));
    if (distinct.size < 3) fail(`polygon needs at least 3 distinct points, got ${distinct.size}`);
    // Orama's ray casting treats the ring as closed whether or not the last point repeats the first.
    const coordinates = points.map((point) => ({ lat: point.lat, lon: point.lon }));
    return { condition: { [geo.field]: { polygon: { coordinates, inside: true } } }, distance: undefined };
  }

  return fail("use either { center, radiusKm } or { polygon }");
}

function sortKey(schema: IndexSchema, index: string, entry: NonNullable<SearchQuery["sort"]>[number]): SortKey {
  const fail = (message: string): never => {
    throw new ValidationError(`Invalid sort ${describe(entry)} on index "${index}": ${message}`, errorContext({ index, sort: entry }));
  };
  if (typeof entry !== "object" || entry === null) fail("a sort entry is { field, order } or { distanceFrom, field, order? }");
  const order = entry.order ?? "asc";
  if (order !== "asc" && order !== "desc") fail(`order must be "asc" or "desc", got ${describe(order)}`);
  const type = schema.fields[entry.field];

  if ("distanceFrom" in entry) {
    if (type !== "geo_point") fail(`distance sort needs a geo_point field, and ${describe(entry.field)} is not one`);
    if (!isGeoPoint(entry.distanceFrom)) fail(`distanceFrom must be { lat: -90..90, lon: -180..180 }, got ${describe(entry.distanceFrom)}`);
    return { kind: "distance", field: entry.field, from: { lat: entry.distanceFrom.lat, lon: entry.distanceFrom.lon }, order };
  }

  const sortable = fieldsOfType(schema, "keyword", "number", "boolean", "date");
  if (type === undefined) fail(`field ${describe(entry.field)} is not in the index; sortable fields: ${sortable}`);
  if (type !== "keyword" && type !== "number" && type !== "boolean" && type !== "date") {
    fail(`"${entry.field}" is a ${type} field; sort by keyword, number, boolean or date fields (${sortable}) or by distance`);
  }
  return { kind: "field", field: entry.field, type: type as SearchFieldType, order };
}

/** Checks that a cursor has one value of the right kind per sort key, then the document id. */
function checkCursor(index: string, cursor: unknown, sort: SortKey[]): SortValue[] {
  const expected = searchAfterMismatch(cursor, sort);
  if (expected !== undefined) {
    throw new ValidationError(
      `Invalid searchAfter ${describe(cursor)} on index "${index}": expected [${expected.join(", ")}] for this sort; pass nextSearchAfter of the previous page unchanged, with the same sort`,
      errorContext({ index, searchAfter: cursor }),
    );
  }
  return cursor as SortValue[];
}

function rankHits(state: IndexState, scores: Map<string, number>, plan: SearchPlan): RankedHit[] {
  const hits: RankedHit[] = [];
  for (const [id, score] of scores) {
    const document = state.documents.get(id);
    if (document === undefined) continue;
    const sortValues: SortValue[] = plan.sort.map((key) => sortValueOf(key, document, score));
    sortValues.push(id);
    const distanceKm = plan.distance === undefined ? undefined : distanceTo(document, plan.distance.field, plan.distance.from);
    hits.push({ id, score, document, sortValues, distanceKm });
  }
  return hits.sort((a, b) => compareSortValues(a.sortValues, b.sortValues, plan.sort));
}

function sortValueOf(key: SortKey, document: SearchDocument, score: number): SortValue {
  if (key.kind === "score") return score;
  if (key.kind === "distance") return distanceTo(document, key.field, key.from) ?? null;

  const raw = document[key.field];
  switch (key.type) {
    case "keyword": {
      // A list sorts by its lowest value ascending and its highest descending, as OpenSearch does.
      const values = (Array.isArray(raw) ? raw : [raw]).filter((value): value is string => typeof value === "string").sort(compareStrings);
      if (values.length === 0) return null;
      return (key.order === "asc" ? values[0] : values[values.length - 1]) ?? null;
    }
    case "date":
      return toEpochMs(raw) ?? null;
    case "number":
      return typeof raw === "number" && Number.isFinite(raw) ? raw : null;
    case "boolean":
      return typeof raw === "boolean" ? raw : null;
    default:
      return null;
  }
}

/**
 * Orders two sort value lists: each key in its order, missing values last
 * whatever the order (OpenSearch's `missing: _last`), then the id ascending.
 */
function compareSortValues(a: SortValue[], b: SortValue[], sort: SortKey[]): number {
  for (let position = 0; position < a.length; position++) {
    const left = a[position] ?? null;
    const right = b[position] ?? null;
    if (left === null && right === null) continue;
    if (left === null) return 1;
    if (right === null) return -1;

    // The key after the last sort key is the document id, ascending.
    const key = sort[position];
    let order: "asc" | "desc" = "asc";
    if (key !== undefined) order = key.kind === "score" ? "desc" : key.order;
    const compared = compareValues(left, right);
    if (compared !== 0) return order === "desc" ? -compared : compared;
  }
  return 0;
}

function compareValues(left: string | number | boolean, right: string | number | boolean): number {
  if (typeof left === "number" && typeof right === "number") return left - right;
  if (typeof left === "boolean" && typeof right === "boolean") return Number(left) - Number(right);
  return compareStrings(String(left), String(right));
}

/** Compares by UTF-16 code units, so the order does not depend on the locale. */
function compareStrings(left: string, right: string): number {
  if (left === right) return 0;
  return left < right ? -1 : 1;
}

function distanceTo(document: SearchDocument, field: string, from: GeoPoint): number | undefined {
  const point = document[field];
  return isGeoPoint(point) ? haversineKm(from, point) : undefined;
}

function haversineKm(a: GeoPoint, b: GeoPoint): number {
  const radians = Math.PI / 180;
  const deltaLat = (b.lat - a.lat) * radians;
  const deltaLon = (b.lon - a.lon) * radians;
  const h = Math.sin(deltaLat / 2) ** 2 + Math.cos(a.lat * radians) * Math.cos(b.lat * radians) * Math.sin(deltaLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.atan2(Math.sqrt(h), Math.sqrt(1 - h));
}

/** Counts keyword values over every matched document, not only the returned page. */
function countFacets(state: IndexState, scores: Map<string, number>, fields: string[], size: number): Record<string, FacetValue[]> {
  const facets: Record<string, FacetValue[]> = {};
  for (const field of fields) {
    const counts = new Map<string, number>();
    for (const id of scores.keys()) {
      const raw = state.documents.get(id)?.[field];
      const values = new Set((Array.isArray(raw) ? raw : [raw]).filter((value): value is string => typeof value === "string"));
      for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    facets[field] = [...counts]
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => b.count - a.count || compareStrings(a.value, b.value))
      .slice(0, size);
  }
  return facets;
}

function toSearchHit<T>(state: IndexState, hit: RankedHit, plan: SearchPlan): SearchHit<T> {
  const result: SearchHit<T> = { id: hit.id, score: hit.score, document: structuredClone(hit.document) as T };
  if (hit.distanceKm !== undefined) result.distanceKm = hit.distanceKm;
  if (plan.highlight) result.highlights = highlightsOf(hit.document, plan.properties, plan.terms ?? []);
  return result;
}

function highlightsOf(document: SearchDocument, fields: string[], terms: QueryTerm[]): Record<string, string[]> {
  const highlights: Record<string, string[]> = {};
  if (terms.length === 0) return highlights;
  for (const field of fields) {
    const raw = document[field];
    const values = (Array.isArray(raw) ? raw : [raw]).filter((value): value is string => typeof value === "string");
    const fragments = values.flatMap((value) => highlightValue(value, terms));
    if (fragments.length > 0) highlights[field] = fragments;
  }
  return highlights;
}

/**
 * Picks distinct values of the autocomplete field in which every typed term
 * starts a word. Values that start with the whole typed text come first,
 * then higher scores, then shorter values.
 */
function suggestValues(state: IndexState, scores: Map<string, number>, field: string, terms: QueryTerm[], prefix: string, limit: number): string[] {
  const typed = prefix.trim().toLowerCase();
  const best = new Map<string, { startsWith: boolean; score: number }>();
  for (const [id, score] of scores) {
    const raw = state.documents.get(id)?.[field];
    const values = (Array.isArray(raw) ? raw : [raw]).filter((value): value is string => typeof value === "string");
    for (const value of values) {
      const words = wordSpans(value).map((span) => span.token);
      if (!terms.every((term) => words.some((word) => wordMatches(word, term)))) continue;
      const previous = best.get(value);
      if (previous === undefined || previous.score < score) {
        best.set(value, { startsWith: value.toLowerCase().startsWith(typed), score });
      }
    }
  }

  return [...best]
    .sort(
      ([valueA, a], [valueB, b]) =>
        Number(b.startsWith) - Number(a.startsWith) || b.score - a.score || valueA.length - valueB.length || compareStrings(valueA, valueB),
    )
    .slice(0, limit)
    .map(([value]) => value);
}

function fieldsOfType(schema: IndexSchema, ...types: SearchFieldType[]): string {
  const fields = Object.keys(schema.fields).filter((field) => types.includes(schema.fields[field]!));
  return fields.length > 0 ? fields.join(", ") : "none";
}

