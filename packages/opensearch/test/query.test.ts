import { createMemorySearch, isBridgeError, runWithTenant, type IndexDefinition, type SearchQuery } from "@bridge/core";
import { describe, expect, it } from "vitest";
import { buildSearchBody, planSearch, readSearchResponse, type QueryContext } from "../src/query.js";

const DEFINITION: IndexDefinition = {
  name: "products",
  fields: { title: "text", description: "text", brand: "keyword", price: "number", in_stock: "boolean", released: "date", location: "geo_point", area: "geo_shape" },
  searchableFields: [{ field: "title", boost: 3 }, "description"],
};
const CONTEXT: QueryContext = { role: "search", integration: "opensearch", tenantId: "t" };
const MAX_RESULTS = 100;

function plan(query: Omit<SearchQuery, "index">) {
  return planSearch(DEFINITION, { index: "products", ...query }, MAX_RESULTS, CONTEXT);
}

function failure(run: () => unknown): { code: string; message: string } | undefined {
  try {
    run();
  } catch (error) {
    if (isBridgeError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  return undefined;
}

const BAD_QUERIES: Array<Omit<SearchQuery, "index">> = [
  { page: 0 },
  { page: 1.5 },
  { pageSize: -1 },
  { pageSize: 101 },
  { page: 2, searchAfter: [1, "a"] },
  { text: 42 as unknown as string },
  { fuzzy: 3 },
  { fields: [] },
  { fields: ["brand"] },
  { filters: {} as unknown as [] },
  { filters: [{ field: "price", eq: { $gt: 0 } as unknown as number }] },
  { filters: [{ field: "$where", eq: "1 == 1" }] },
  { filters: [{ field: "title", eq: "x" }] },
  { filters: [{ field: "brand", eq: "a", in: ["b"] } as never] },
  { filters: [{ field: "brand", gte: 1 }] },
  { filters: [{ field: "in_stock", eq: "yes" as unknown as boolean }] },
  { filters: [{ field: "released", gte: "not a date" as unknown as number }] },
  { geo: { field: "location", center: { lat: 91, lon: 0 }, radiusKm: 5 } },
  { geo: { field: "location", center: { lat: 45, lon: -93 }, radiusKm: -5 } },
  { geo: { field: "brand", center: { lat: 45, lon: -93 }, radiusKm: 5 } },
  { geo: { field: "location", polygon: [{ lat: 1, lon: 1 }, { lat: 2, lon: 2 }] } },
  { sort: [{ field: "title", order: "asc" }] },
  { sort: [{ field: "price", order: "up" as "asc" }] },
  { sort: [{ field: "brand", distanceFrom: { lat: 1, lon: 1 } }] },
  { facets: ["title"] },
  { facetSize: 0 },
  { searchAfter: ["x", "id"] },
  { sort: [{ field: "price", order: "asc" }], searchAfter: [1] },
  { sort: [{ field: "price", order: "asc" }], searchAfter: [1, 2] },
];

describe("planSearch", () => {
  it("rejects what the embedded search rejects, with the same code and message", async () => {
    const memory = createMemorySearch({ maxResults: MAX_RESULTS });
    await runWithTenant("t", async () => {
      await memory.ensureIndex(DEFINITION);
      for (const query of BAD_QUERIES) {
        let expected: { code: string; message: string } | undefined;
        try {
          await memory.search({ index: "products", ...query });
        } catch (error) {
          expected = isBridgeError(error) ? { code: error.code, message: error.message } : undefined;
        }
        expect(expected, `embedded rejects ${JSON.stringify(query)}`).toBeDefined();
        expect(failure(() => plan(query)), `rejection of ${JSON.stringify(query)}`).toEqual(expected);
      }
    });
  });

  it("accepts what the embedded search accepts", () => {
    const accepted: Array<Omit<SearchQuery, "index">> = [
      {},
      { text: "   " },
      { text: "iphone case", fuzzy: true, highlight: true },
      { filters: [{ field: "brand", in: [] }] },
      { filters: [{ field: "released", gte: "2024-01-01" as unknown as number, lt: Date.UTC(2025, 0, 1) }] },
      { sort: [{ field: "price", order: "desc" }, { field: "brand", order: "asc" }], searchAfter: [null, null, "id-1"] },
      { geo: { field: "location", polygon: [{ lat: 1, lon: 1 }, { lat: 2, lon: 2 }, { lat: 1, lon: 2 }] } },
    ];
    for (const query of accepted) expect(failure(() => plan(query)), JSON.stringify(query)).toBeUndefined();
  });

  it("rejects pages past OpenSearch's result window", () => {
    const rejection = failure(() => plan({ page: 101, pageSize: 100 }));
    expect(rejection?.code).toBe("VALIDATION_FAILED");
    expect(rejection?.message).toContain("searchAfter");
    expect(failure(() => plan({ page: 99, pageSize: 100 }))).toBeUndefined();
  });

  it("limits terms times fields to the clause count", () => {
    const text = Array.from({ length: 600 }, (_, i) => `w${i}`).join(" ");
    expect(failure(() => plan({ text }))?.message).toContain("1024 clauses");
    expect(failure(() => plan({ text, fields: ["title"] }))).toBeUndefined();
  });
});

describe("buildSearchBody", () => {
  it("matches each term as text in every searched field", () => {
    const body = buildSearchBody(plan({ text: 'title:foo AND "bar"', fuzzy: true }), 5_000, "embedded");
    const must = (body.query as { bool: { must: Array<{ multi_match: Record<string, unknown> }> } }).bool.must;
    expect(must.map((clause) => clause.multi_match.query)).toEqual(["title", "foo", "and", "bar"]);
    expect(must[0]?.multi_match).toMatchObject({ type: "most_fields", fuzziness: "AUTO", fields: ["title.distinct^3", "description.distinct"] });
    expect(JSON.stringify(body)).not.toContain("query_string");
  });

  it("searches the main fields under bm25 scoring", () => {
    const body = buildSearchBody(plan({ text: "phone" }), 5_000, "bm25");
    expect(JSON.stringify(body.query)).toContain('"fields":["title^3","description"]');
  });

  it("matches nothing for text without words or an empty in", () => {
    expect(buildSearchBody(plan({ text: "*** ???" }), 5_000, "embedded").query).toEqual({ match_none: {} });
    expect(buildSearchBody(plan({ filters: [{ field: "brand", in: [] }] }), 5_000, "embedded").query).toEqual({ match_none: {} });
  });

  it("turns filters into term, terms and range clauses", () => {
    const body = buildSearchBody(
      plan({
        filters: [
          { field: "brand", eq: "Apple" },
          { field: "brand", in: ["Apple", "Samsung"] },
          { field: "price", gt: 100, lte: 500 },
          { field: "released", gte: "2024-01-01T00:00:00Z" as unknown as number },
        ],
      }),
      5_000,
      "embedded",
    );
    expect((body.query as { bool: { filter: unknown[] } }).bool.filter).toEqual([
      { term: { brand: "Apple" } },
      { terms: { brand: ["Apple", "Samsung"] } },
      { range: { price: { gt: 100, lte: 500 } } },
      { range: { "bridge__date.released": { gte: Date.UTC(2024, 0, 1) } } },
    ]);
  });

  it("closes a polygon ring and orders positions as [lon, lat]", () => {
    const body = buildSearchBody(plan({ geo: { field: "location", polygon: [{ lat: 1, lon: 10 }, { lat: 2, lon: 20 }, { lat: 3, lon: 10 }] } }), 5_000, "embedded");
    const filter = (body.query as { bool: { filter: Array<Record<string, any>> } }).bool.filter[0]!;
    expect(filter.geo_shape.location.shape.coordinates).toEqual([[[10, 1], [20, 2], [10, 3], [10, 1]]]);
  });

  it("adds id tiebreaker and one extra hit", () => {
    const body = buildSearchBody(plan({ sort: [{ field: "price", order: "desc" }], page: 3, pageSize: 7 }), 5_000, "embedded");
    expect(body.sort).toEqual([{ price: { order: "desc", missing: "_last" } }, { id: { order: "asc" } }]);
    expect(body.from).toBe(14);
    expect(body.size).toBe(8);
  });

  it("turns missing values of a cursor into OpenSearch's placeholders", () => {
    const body = buildSearchBody(
      plan({
        sort: [
          { field: "price", order: "asc" },
          { field: "in_stock", order: "desc" },
          { field: "released", order: "asc" },
          { field: "brand", order: "asc" },
          { field: "location", distanceFrom: { lat: 1, lon: 1 } },
        ],
        searchAfter: [null, null, null, null, null, "id-9"],
      }),
      5_000,
      "embedded",
    );
    expect(body.search_after).toEqual(["Infinity", -2_147_483_648, "9223372036854775807", null, "Infinity", "id-9"]);
    expect(body.from).toBeUndefined();
  });

  it("measures distance with a script field when no sort does", () => {
    const radius = buildSearchBody(plan({ geo: { field: "location", center: { lat: 45, lon: -93 }, radiusKm: 10 } }), 5_000, "embedded");
    expect(radius.script_fields).toBeDefined();
    const sorted = buildSearchBody(
      plan({ geo: { field: "location", center: { lat: 45, lon: -93 }, radiusKm: 10 }, sort: [{ field: "location", distanceFrom: { lat: 45, lon: -93 } }] }),
      5_000,
      "embedded",
    );
    expect(sorted.script_fields).toBeUndefined();
  });
});

describe("readSearchResponse", () => {
  it("turns sort values into a cursor with nulls for missing values", () => {
    const searchPlan = plan({ sort: [{ field: "price", order: "asc" }, { field: "in_stock", order: "asc" }, { field: "released", order: "desc" }], pageSize: 1 });
    const result = readSearchResponse(searchPlan, {
      hits: {
        total: { value: 5 },
        hits: [
          { _id: "a", _score: 1.5, _source: { id: "a" }, sort: ["Infinity", 2_147_483_647, -9223372036854775808, "a"] },
          { _id: "b", _score: 1, _source: { id: "b" }, sort: [3, 1, 0, "b"] },
        ],
      },
    });
    expect(result.total).toBe(5);
    expect(result.hits.map((hit) => hit.id)).toEqual(["a"]);
    expect(result.nextSearchAfter).toEqual([null, null, null, "a"]);
  });

  it("reads booleans and dates back as the embedded search's cursor has them", () => {
    const searchPlan = plan({ sort: [{ field: "in_stock", order: "asc" }, { field: "released", order: "asc" }], pageSize: 1 });
    const result = readSearchResponse(searchPlan, {
      hits: { total: 2, hits: [{ _id: "a", _score: 0, sort: [1, 1_704_067_200_000, "a"] }, { _id: "b", sort: [1, 1, "b"] }] },
    });
    expect(result.nextSearchAfter).toEqual([true, 1_704_067_200_000, "a"]);
  });

  it("returns no cursor on the last page, and every requested facet", () => {
    const searchPlan = plan({ facets: ["brand"], pageSize: 2 });
    const result = readSearchResponse(searchPlan, {
      hits: { total: 1, hits: [{ _id: "a", _score: 0, sort: [0, "a"] }] },
      aggregations: { brand: { buckets: [{ key: "Apple", doc_count: 1 }] } },
    });
    expect(result.nextSearchAfter).toBeNull();
    expect(result.facets).toEqual({ brand: [{ value: "Apple", count: 1 }] });
  });
});
