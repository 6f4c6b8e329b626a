// Turns a Bridge SearchQuery into an OpenSearch search request, and the
// response back into a SearchResult. The checks and their messages follow the
// embedded search, so a query that one provider rejects the other rejects too.
import {
  InvalidFilterError,
  isGeoPoint,
  searchAfterMismatch,
  toEpochMs,
  ValidationError,
  type FacetValue,
  type GeoPoint,
  type IndexDefinition,
  type SearchFieldType,
  type SearchFilter,
  type SearchHit,
  type SearchQuery,
  type SearchResult,
} from "@bridge/core";
import { describe } from "./describe.js";
import { DATE_COPIES, DISTINCT_SUBFIELD } from "./mappings.js";
import { MAX_RESULT_WINDOW, type Scoring } from "./options.js";
import { distinctWords } from "./text.js";

const DEFAULT_PAGE_SIZE = 10;
const DEFAULT_FACET_SIZE = 20;
/** Distinct terms per query, as in the embedded search. */
const MAX_QUERY_TERMS = 1024;
/** OpenSearch's default `indices.query.bool.max_clause_count`; each term adds one clause per searched field. */
const MAX_CLAUSES = 1024;
const MAX_FUZZINESS = 2;
/** Name of the script field that carries the distance when the sort does not. */
export const DISTANCE_FIELD = "bridge_distance_km";

/** Role, integration and tenant that errors of a query name. */
export interface QueryContext {
  role: "search";
  integration: string;
  tenantId: string;
}

export type SortKey =
  | { kind: "score" }
  | { kind: "field"; field: string; type: SearchFieldType; order: "asc" | "desc" }
  | { kind: "distance"; field: string; from: GeoPoint; order: "asc" | "desc" };

export type CursorValue = string | number | boolean | null;

/** A checked query, in the terms the request builder uses. */
export interface SearchPlan {
  index: string;
  /** null when the query has no text, so every document matches. */
  terms: string[] | null;
  fuzziness: string | number | undefined;
  /** Searched text fields with their boosts. */
  fields: Array<{ field: string; boost: number }>;
  filters: Array<Record<string, unknown>>;
  /** Set when a filter can match no document, such as `in: []`. */
  matchesNothing: boolean;
  sort: SortKey[];
  page: number;
  pageSize: number;
  searchAfter: CursorValue[] | undefined;
  facets: string[];
  facetSize: number;
  highlight: boolean;
  /** Point that `distanceKm` of each hit is measured from; the last distance sort wins over the radius center. */
  distance: { field: string; from: GeoPoint; sortPosition: number | undefined } | undefined;
}

/** Returns the searchable fields of a definition with their boosts: the declared ones, else every text field. */
export function searchableFields(definition: IndexDefinition): Array<{ field: string; boost: number }> {
  if (definition.searchableFields && definition.searchableFields.length > 0) {
    return definition.searchableFields.map((entry) => (typeof entry === "string" ? { field: entry, boost: 1 } : { field: entry.field, boost: entry.boost }));
  }
  return Object.keys(definition.fields)
    .filter((field) => definition.fields[field] === "text")
    .map((field) => ({ field, boost: 1 }));
}

/** Checks a query against the index definition and returns the plan. Throws ValidationError or InvalidFilterError. */
export function planSearch(definition: IndexDefinition, query: SearchQuery, maxResults: number, context: QueryContext): SearchPlan {
  const fields = definition.fields;
  const fail = (message: string, details?: Record<string, unknown>): never => {
    throw new ValidationError(`Invalid search on index "${query.index}": ${message}`, { ...context, details: { index: query.index, ...details } });
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
  // One more hit than the page is fetched to tell whether another page follows.
  if ((page - 1) * pageSize + pageSize + 1 > MAX_RESULT_WINDOW) {
    fail(
      `page ${page} of ${pageSize} hits reaches past hit ${MAX_RESULT_WINDOW - 1}, the deepest that OpenSearch pages to with page numbers (index.max_result_window): page with searchAfter instead`,
      { page, pageSize },
    );
  }

  // Text
  const fuzzy = query.fuzzy;
  if (fuzzy !== undefined && typeof fuzzy !== "boolean" && !(Number.isInteger(fuzzy) && fuzzy >= 0 && fuzzy <= MAX_FUZZINESS)) {
    fail(`fuzzy must be true, false or an edit distance from 0 to ${MAX_FUZZINESS}, got ${describe(fuzzy)}`);
  }
  let terms: string[] | null = null;
  if (query.text !== undefined && query.text !== null) {
    if (typeof query.text !== "string") fail(`text must be a string, got ${describe(query.text)}`);
    // Blank text browses like no text; text without words (only punctuation) matches nothing, as an OpenSearch match query does.
    if (query.text.trim() !== "") terms = distinctWords(query.text);
  }
  if (terms !== null && terms.length > MAX_QUERY_TERMS) {
    fail(`text has ${terms.length} distinct terms, above the maximum of ${MAX_QUERY_TERMS}: shorten the query`);
  }

  const boosts = new Map(searchableFields(definition).map((entry) => [entry.field, entry.boost]));
  const properties = query.fields ?? [...boosts.keys()];
  if (!Array.isArray(properties) || (query.fields !== undefined && properties.length === 0)) {
    fail(`fields must be a non-empty array of text field names, got ${describe(properties)}`);
  }
  for (const field of properties) {
    if (fields[field] !== "text") fail(`fields names ${describe(field)}, which is not a text field of this index`, { field });
  }
  if (terms !== null && properties.length === 0) fail("the index has no text field to search: add a text field or search without text");
  if (terms !== null && terms.length * properties.length > MAX_CLAUSES) {
    fail(
      `text has ${terms.length} distinct terms over ${properties.length} fields, which makes more than the ${MAX_CLAUSES} clauses OpenSearch allows in one query: shorten the query or search fewer fields`,
    );
  }

  // Filters and geo
  const filters: Array<Record<string, unknown>> = [];
  let matchesNothing = false;
  if (query.filters !== undefined && !Array.isArray(query.filters)) fail(`filters must be an array, got ${describe(query.filters)}`);
  for (const filter of query.filters ?? []) {
    const clause = filterClause(definition, query.index, filter, context);
    if (clause === null) matchesNothing = true;
    else filters.push(clause);
  }
  let distance: SearchPlan["distance"];
  if (query.geo !== undefined) {
    const geo = geoClause(definition, query.index, query.geo, context);
    filters.push(geo.clause);
    distance = geo.distance;
  }

  // Sort and cursor
  const sort: SortKey[] = [];
  if (query.sort !== undefined && !Array.isArray(query.sort)) fail(`sort must be an array, got ${describe(query.sort)}`);
  for (const entry of query.sort ?? []) {
    const key = sortKey(definition, query.index, entry, context);
    if (key.kind === "distance") distance = { field: key.field, from: key.from, sortPosition: sort.length };
    sort.push(key);
  }
  if (sort.length === 0) sort.push({ kind: "score" });
  const searchAfter = query.searchAfter === undefined ? undefined : checkCursor(query.index, query.searchAfter, sort, context);

  // Facets
  const facets = query.facets ?? [];
  if (!Array.isArray(facets)) fail(`facets must be an array of keyword field names, got ${describe(facets)}`);
  for (const field of facets) {
    if (fields[field] !== "keyword") {
      fail(`facet ${describe(field)} is not a keyword field of this index; facets count keyword fields: ${fieldsOfType(definition, "keyword")}`, { field });
    }
  }
  const facetSize = query.facetSize ?? DEFAULT_FACET_SIZE;
  if (!Number.isInteger(facetSize) || facetSize < 1) fail(`facetSize must be an integer of 1 or more, got ${describe(facetSize)}`);

  let fuzziness: string | number | undefined;
  if (fuzzy === true) fuzziness = "AUTO";
  else if (typeof fuzzy === "number" && fuzzy > 0) fuzziness = fuzzy;

  return {
    index: query.index,
    terms,
    fuzziness,
    fields: properties.map((field) => ({ field, boost: boosts.get(field) ?? 1 })),
    filters,
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

/** Returns the indexed path of a field: dates are queried through their epoch-millisecond copy. */
export function indexedPath(field: string, type: SearchFieldType | undefined): string {
  return type === "date" ? `${DATE_COPIES}.${field}` : field;
}

/** Turns one filter into a term, terms or range clause; null when it can match nothing. */
function filterClause(definition: IndexDefinition, index: string, filter: SearchFilter, context: QueryContext): Record<string, unknown> | null {
  const fail = (message: string): never => {
    throw new InvalidFilterError(`Invalid filter ${describe(filter)} on index "${index}": ${message}`, { ...context, details: { index, filter } });
  };
  if (typeof filter !== "object" || filter === null) fail('a filter is an object such as { field: "brand", eq: "Apple" }');

  const field = filter.field;
  const type = Object.hasOwn(definition.fields, field) ? definition.fields[field] : undefined;
  const filterable = fieldsOfType(definition, "keyword", "number", "boolean", "date");
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
  const path = indexedPath(field, type);

  if (hasEq) return { term: { [path]: value((filter as { eq: unknown }).eq) } };
  if (hasIn) {
    const values = (filter as { in: unknown }).in;
    if (!Array.isArray(values)) return fail("in must be an array of values");
    if (values.length === 0) return null;
    return { terms: { [path]: values.map(value) } };
  }

  if (type !== "number" && type !== "date") fail(`range bounds need a number or date field, and "${field}" is a ${type} field`);
  const record = filter as Record<string, unknown>;
  return { range: { [path]: Object.fromEntries(bounds.map((bound) => [bound, value(record[bound])])) } };
}

function geoClause(
  definition: IndexDefinition,
  index: string,
  geo: NonNullable<SearchQuery["geo"]>,
  context: QueryContext,
): { clause: Record<string, unknown>; distance: SearchPlan["distance"] } {
  const fail = (message: string): never => {
    throw new InvalidFilterError(`Invalid geo query on index "${index}": ${message}`, { ...context, details: { index, geo } });
  };
  if (typeof geo !== "object" || geo === null) fail(`geo must be an object, got ${describe(geo)}`);
  if (definition.fields[geo.field] !== "geo_point") {
    fail(`field ${describe(geo.field)} is not a geo_point field; geo_point fields: ${fieldsOfType(definition, "geo_point")}`);
  }

  if ("center" in geo) {
    if (!isGeoPoint(geo.center)) fail(`center must be { lat: -90..90, lon: -180..180 }, got ${describe(geo.center)}`);
    if (typeof geo.radiusKm !== "number" || !Number.isFinite(geo.radiusKm) || geo.radiusKm <= 0) {
      fail(`radiusKm must be a number above 0, got ${describe(geo.radiusKm)}`);
    }
    const center = { lat: geo.center.lat, lon: geo.center.lon };
    return {
      clause: { geo_distance: { distance: `${geo.radiusKm}km`, distance_type: "arc", [geo.field]: center } },
      distance: { field: geo.field, from: center, sortPosition: undefined },
    };
  }

  if ("polygon" in geo) {
    const points = geo.polygon;
    if (!Array.isArray(points) || !points.every(isGeoPoint)) fail("polygon must be an array of points { lat, lon }");
    const distinct = new Set(points.map((point) => `${point.lat},${point.lon}`));
    if (distinct.size < 3) fail(`polygon needs at least 3 distinct points, got ${distinct.size}`);

    // GeoJSON ring: [lon, lat] positions, first position repeated at the end.
    const ring = points.map((point) => [point.lon, point.lat]);
    const first = ring[0]!;
    const last = ring[ring.length - 1]!;
    if (first[0] !== last[0] || first[1] !== last[1]) ring.push([...first]);
    return {
      clause: { geo_shape: { [geo.field]: { shape: { type: "polygon", coordinates: [ring] }, relation: "intersects" } } },
      distance: undefined,
    };
  }

  return fail("use either { center, radiusKm } or { polygon }");
}

function sortKey(definition: IndexDefinition, index: string, entry: NonNullable<SearchQuery["sort"]>[number], context: QueryContext): SortKey {
  const fail = (message: string): never => {
    throw new ValidationError(`Invalid sort ${describe(entry)} on index "${index}": ${message}`, { ...context, details: { index, sort: entry } });
  };
  if (typeof entry !== "object" || entry === null) fail("a sort entry is { field, order } or { distanceFrom, field, order? }");
  const order = entry.order ?? "asc";
  if (order !== "asc" && order !== "desc") fail(`order must be "asc" or "desc", got ${describe(order)}`);
  const type = Object.hasOwn(definition.fields, entry.field) ? definition.fields[entry.field] : undefined;

  if ("distanceFrom" in entry) {
    if (type !== "geo_point") fail(`distance sort needs a geo_point field, and ${describe(entry.field)} is not one`);
    if (!isGeoPoint(entry.distanceFrom)) fail(`distanceFrom must be { lat: -90..90, lon: -180..180 }, got ${describe(entry.distanceFrom)}`);
    return { kind: "distance", field: entry.field, from: { lat: entry.distanceFrom.lat, lon: entry.distanceFrom.lon }, order };
  }

  const sortable = fieldsOfType(definition, "keyword", "number", "boolean", "date");
  if (type === undefined) fail(`field ${describe(entry.field)} is not in the index; sortable fields: ${sortable}`);
  if (type !== "keyword" && type !== "number" && type !== "boolean" && type !== "date") {
    fail(`"${entry.field}" is a ${type} field; sort by keyword, number, boolean or date fields (${sortable}) or by distance`);
  }
  return { kind: "field", field: entry.field, type: type as SearchFieldType, order };
}

/** Checks that a cursor has one value of the right kind per sort key, then the document id. */
function checkCursor(index: string, cursor: unknown, sort: SortKey[], context: QueryContext): CursorValue[] {
  const expected = searchAfterMismatch(cursor, sort);
  if (expected !== undefined) {
    throw new ValidationError(
      `Invalid searchAfter ${describe(cursor)} on index "${index}": expected [${expected.join(", ")}] for this sort; pass nextSearchAfter of the previous page unchanged, with the same sort`,
      { ...context, details: { index, searchAfter: cursor } },
    );
  }
  return cursor as CursorValue[];
}

function fieldsOfType(definition: IndexDefinition, ...types: SearchFieldType[]): string {
  const fields = Object.keys(definition.fields).filter((field) => types.includes(definition.fields[field]!));
  return fields.length > 0 ? fields.join(", ") : "none";
}

/** Sort values that OpenSearch puts in place of a missing value with `missing: _last`. */
const INT_MAX = 2_147_483_647;
const INT_MIN = -2_147_483_648;
/** Long.MAX_VALUE and Long.MIN_VALUE as strings, because a JavaScript number cannot hold them exactly. */
const LONG_MAX = "9223372036854775807";
const LONG_MIN = "-9223372036854775808";
/** Any epoch-millisecond date is far below this; Long.MIN/MAX_VALUE parse to about ±9.22e18. */
const LONG_SENTINEL_ABS = 9.2e18;

/** Builds the OpenSearch request body of a plan. */
export function buildSearchBody(plan: SearchPlan, searchTimeoutMs: number, scoring: Scoring): Record<string, unknown> {
  // Each term must match in at least one field; its scores over the fields add up, as in the embedded search.
  const termClauses = (subfield: string | undefined) =>
    (plan.terms ?? []).map((term) => ({
      multi_match: {
        query: term,
        type: "most_fields",
        fields: plan.fields.map(({ field, boost }) => {
          const path = subfield === undefined ? field : `${field}.${subfield}`;
          return boost === 1 ? path : `${path}^${boost}`;
        }),
        ...(plan.fuzziness === undefined ? {} : { fuzziness: plan.fuzziness }),
      },
    }));
  const must = termClauses(scoring === "embedded" ? DISTINCT_SUBFIELD : undefined);

  let query: Record<string, unknown>;
  if (plan.matchesNothing || (plan.terms !== null && plan.terms.length === 0)) query = { match_none: {} };
  else query = { bool: { ...(must.length > 0 ? { must } : {}), filter: plan.filters } };

  const sort: unknown[] = plan.sort.map((key) => {
    if (key.kind === "score") return { _score: { order: "desc" } };
    if (key.kind === "distance") {
      return { _geo_distance: { [key.field]: key.from, order: key.order, unit: "km", distance_type: "arc" } };
    }
    return { [indexedPath(key.field, key.type)]: { order: key.order, missing: "_last" } };
  });
  // The document id breaks ties, so pages and cursors follow one total order.
  sort.push({ id: { order: "asc" } });

  const body: Record<string, unknown> = {
    query,
    sort,
    // Scores come back whatever the sort, as in the embedded search.
    track_scores: true,
    track_total_hits: true,
    timeout: `${searchTimeoutMs}ms`,
    size: plan.pageSize === 0 ? 0 : plan.pageSize + 1,
    _source: true,
  };
  if (plan.searchAfter === undefined) body.from = (plan.page - 1) * plan.pageSize;
  else body.search_after = toOpenSearchCursor(plan.searchAfter, plan.sort);

  if (plan.facets.length > 0) {
    body.aggs = Object.fromEntries(
      plan.facets.map((field) => [field, { terms: { field, size: plan.facetSize, order: [{ _count: "desc" }, { _key: "asc" }] } }]),
    );
  }

  if (plan.highlight && plan.terms !== null && plan.terms.length > 0) {
    body.highlight = {
      pre_tags: ["<em>"],
      post_tags: ["</em>"],
      encoder: "html",
      // The main fields keep repeated words, so every occurrence is marked.
      highlight_query: { bool: { should: termClauses(undefined) } },
      fields: Object.fromEntries(plan.fields.map(({ field }) => [field, { number_of_fragments: 5, fragment_size: 200 }])),
    };
  }

  const distance = plan.distance;
  if (distance !== undefined && distance.sortPosition === undefined) {
    body.script_fields = {
      [DISTANCE_FIELD]: {
        script: {
          lang: "painless",
          source: "doc[params.field].size() == 0 ? null : doc[params.field].arcDistance(params.lat, params.lon) / 1000.0",
          params: { field: distance.field, lat: distance.from.lat, lon: distance.from.lon },
        },
      },
    };
  }
  return body;
}

/** Turns a Bridge cursor into the `search_after` values OpenSearch expects, missing values included. */
function toOpenSearchCursor(cursor: CursorValue[], sort: SortKey[]): unknown[] {
  const values: unknown[] = sort.map((key, position) => {
    const value = cursor[position] ?? null;
    if (key.kind === "score") return value;
    if (key.kind === "distance") return value ?? "Infinity";
    switch (key.type) {
      case "keyword":
        return value;
      case "boolean":
        if (value === null) return key.order === "asc" ? INT_MAX : INT_MIN;
        return value === true ? 1 : 0;
      case "date":
        if (value === null) return key.order === "asc" ? LONG_MAX : LONG_MIN;
        return value;
      default:
        if (value === null) return key.order === "asc" ? "Infinity" : "-Infinity";
        return value;
    }
  });
  values.push(cursor[sort.length]);
  return values;
}

/** Turns the sort values of a hit into a Bridge cursor: missing values become null, booleans true and false. */
function fromOpenSearchSortValues(values: unknown[], sort: SortKey[], id: string): CursorValue[] {
  const cursor: CursorValue[] = sort.map((key, position) => {
    const value = values[position];
    if (key.kind === "score") return typeof value === "number" ? value : 0;
    if (key.kind === "distance") return typeof value === "number" && Number.isFinite(value) ? value : null;
    switch (key.type) {
      case "keyword":
        return typeof value === "string" ? value : null;
      case "boolean":
        if (value === 1 || value === true) return true;
        if (value === 0 || value === false) return false;
        return null;
      case "date":
        return typeof value === "number" && Math.abs(value) < LONG_SENTINEL_ABS ? value : null;
      default:
        return typeof value === "number" && Number.isFinite(value) ? value : null;
    }
  });
  cursor.push(id);
  return cursor;
}

interface OpenSearchHit {
  _id: string;
  _score?: number | null;
  _source?: Record<string, unknown>;
  sort?: unknown[];
  fields?: Record<string, unknown[]>;
  highlight?: Record<string, string[]>;
}

interface OpenSearchResponse {
  hits: { total?: number | { value: number }; hits: OpenSearchHit[] };
  aggregations?: Record<string, { buckets?: Array<{ key: unknown; doc_count: number }> }>;
}

/** Turns an OpenSearch search response into a Bridge SearchResult. */
export function readSearchResponse<T>(plan: SearchPlan, response: OpenSearchResponse): SearchResult<T> {
  const all = response.hits.hits;
  const page = all.slice(0, plan.pageSize);
  const hasMore = all.length > plan.pageSize;
  const total = typeof response.hits.total === "number" ? response.hits.total : (response.hits.total?.value ?? 0);

  const hits = page.map((hit): SearchHit<T> => {
    const result: SearchHit<T> = {
      id: hit._id,
      score: typeof hit._score === "number" ? hit._score : 0,
      document: (hit._source ?? { id: hit._id }) as T,
    };
    const distanceKm = distanceOf(plan, hit);
    if (distanceKm !== undefined) result.distanceKm = distanceKm;
    if (plan.highlight) result.highlights = hit.highlight ?? {};
    return result;
  });

  const facets: Record<string, FacetValue[]> = {};
  for (const field of plan.facets) {
    const buckets = response.aggregations?.[field]?.buckets ?? [];
    facets[field] = buckets.map((bucket) => ({ value: String(bucket.key), count: bucket.doc_count }));
  }

  const last = page[page.length - 1];
  return {
    total,
    hits,
    facets,
    page: plan.page,
    pageSize: plan.pageSize,
    nextSearchAfter: hasMore && last !== undefined ? fromOpenSearchSortValues(last.sort ?? [], plan.sort, last._id) : null,
  };
}

function distanceOf(plan: SearchPlan, hit: OpenSearchHit): number | undefined {
  const distance = plan.distance;
  if (distance === undefined) return undefined;
  const raw = distance.sortPosition === undefined ? hit.fields?.[DISTANCE_FIELD]?.[0] : hit.sort?.[distance.sortPosition];
  return typeof raw === "number" && Number.isFinite(raw) ? raw : undefined;
}
