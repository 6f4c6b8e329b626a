// The embedded search and OpenSearch over the real catalogue of the
// reference app: the same documents, definition and queries must give the
// same totals and facets and the same top hits. The remaining differences
// and their causes are listed in the README under "Parity with the embedded search".
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createMemorySearch, runWithTenant, type IndexDefinition, type SearchQuery, type SearchRole } from "@bridge/core";
import { describeWithService } from "@bridge/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { OpenSearchSearch } from "../src/index.js";
import { deleteIndexes, startIntegration } from "./helpers.js";

/** The products definition of apps/reference (src/catalog/search-documents.ts). */
const PRODUCTS: IndexDefinition = {
  name: "products",
  fields: { title: "text", description: "text", sku: "keyword", brand: "keyword", category: "keyword", price: "number", in_stock: "boolean", popularity: "number" },
  searchableFields: [{ field: "title", boost: 3 }, "description"],
  autocompleteField: "title",
};

/** Full-text queries: same totals, facets and first hit; at least 8 of the top 10 in common. */
export const TEXT_QUERIES = [
  "samsung galaxy",
  "iphone case",
  "screen protector",
  "wireless charger",
  "car charger",
  "otterbox defender",
  "apple watch band",
  "tempered glass",
  "portable power bank",
  "selfie stick",
  "usb-c",
  "galaxy s7 edge",
  "memory card",
  "prepaid phone",
  "charging cable",
  "fitbit",
];

/** Misspelled queries with fuzzy matching: the same first three hits. */
export const FUZZY_QUERIES = ["headphnes", "samsng galxy", "chrger"];

/** Prefixes typed into autocomplete: the same suggestions in the same order. */
export const PREFIXES = ["iph", "sams", "galaxy s", "otter", "mac", "lightn", "Power B"];

interface Product {
  name: string;
  description?: string;
  brand?: string;
  categories: string[];
  price: number;
  image: string;
  popularity: number;
}

/** Builds search documents as the reference app does: SKU from the image name, price in cents, the first record of a SKU wins. */
function catalogue() {
  const records = JSON.parse(readFileSync(new URL("../../../apps/reference/data/typesense-ecommerce/products.json", import.meta.url), "utf8")) as Product[];
  const seen = new Set<string>();
  const documents = [];
  for (const record of records) {
    const sku = /\/(\d+)[^/]*\.(?:jpe?g|png|gif|webp)$/i.exec(record.image)?.[1];
    if (sku === undefined || seen.has(sku)) continue;
    seen.add(sku);
    documents.push({
      id: sku,
      title: record.name,
      description: record.description ?? "",
      sku,
      brand: record.brand ?? "",
      category: record.categories.at(-1) ?? "",
      price: Math.round(record.price * 100),
      // Stock comes from the import in the app; any fixed rule does here.
      in_stock: record.popularity % 3 !== 0,
      popularity: record.popularity,
    });
  }
  return documents;
}

describeWithService("opensearch", "opensearch parity with the embedded search", () => {
  const prefix = `px${randomBytes(4).toString("hex")}`;
  const embedded: SearchRole = createMemorySearch();
  let started: Awaited<ReturnType<typeof startIntegration>>;
  let opensearch: OpenSearchSearch;

  beforeAll(async () => {
    started = await startIntegration({ indexPrefix: prefix });
    opensearch = started.search;
    const documents = catalogue();
    expect(documents.length).toBeGreaterThan(2_500);
    await runWithTenant("t", async () => {
      for (const role of [embedded, opensearch]) {
        await role.ensureIndex(PRODUCTS);
        const result = await role.bulkIndex("products", documents);
        expect(result.failed).toEqual([]);
        await role.refresh("products");
      }
    });
  });

  afterAll(async () => {
    await started?.integration.stop({ deadlineMs: 1_000 });
    await deleteIndexes(prefix);
  });

  const both = (query: SearchQuery) => runWithTenant("t", () => Promise.all([embedded.search(query), opensearch.search(query)]));

  it.each(TEXT_QUERIES)("text %j has the same top hits", async (text) => {
    const [expected, actual] = await both({ index: "products", text, facets: ["brand", "category"], pageSize: 10 });
    expect(actual.total).toBe(expected.total);
    expect(actual.facets).toEqual(expected.facets);

    const expectedIds = expected.hits.map((hit) => hit.id);
    const actualIds = actual.hits.map((hit) => hit.id);
    expect(actualIds[0]).toBe(expectedIds[0]);
    // Lucene stores field lengths in one byte, exact below 24 words, so long descriptions score slightly apart.
    const expectedScore = expected.hits[0]?.score ?? 0;
    expect(Math.abs((actual.hits[0]?.score ?? 0) - expectedScore), "difference of the first scores").toBeLessThanOrEqual(expectedScore * 0.01);
    const common = actualIds.filter((id) => expectedIds.includes(id)).length;
    expect(common, `top 10 in common: embedded ${expectedIds.join(",")} / opensearch ${actualIds.join(",")}`).toBeGreaterThanOrEqual(Math.min(8, expectedIds.length));
  });

  it.each(FUZZY_QUERIES)("fuzzy %j has the same first hits", async (text) => {
    const [expected, actual] = await both({ index: "products", text, fuzzy: true, pageSize: 10 });
    expect(actual.hits.slice(0, 3).map((hit) => hit.id)).toEqual(expected.hits.slice(0, 3).map((hit) => hit.id));
  });

  it("filters and sorts in the same order", async () => {
    const query: SearchQuery = {
      index: "products",
      text: "case",
      filters: [{ field: "price", lte: 2_000 }, { field: "in_stock", eq: true }],
      sort: [{ field: "price", order: "asc" }],
      pageSize: 100,
    };
    const [expected, actual] = await both(query);
    expect(actual.total).toBe(expected.total);
    expect(actual.hits.map((hit) => hit.id)).toEqual(expected.hits.map((hit) => hit.id));
  });

  it("browses by popularity in the same order", async () => {
    const [expected, actual] = await both({ index: "products", filters: [{ field: "brand", in: ["Samsung", "Apple"] }], sort: [{ field: "popularity", order: "desc" }], pageSize: 50 });
    expect(actual.total).toBe(expected.total);
    expect(actual.hits.map((hit) => hit.id)).toEqual(expected.hits.map((hit) => hit.id));
  });

  it.each(PREFIXES)("autocomplete %j suggests the same titles", async (typed) => {
    const [expected, actual] = await runWithTenant("t", () =>
      Promise.all([embedded.autocomplete("products", typed, { limit: 8 }), opensearch.autocomplete("products", typed, { limit: 8 })]),
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(actual).toEqual(expected);
  });
});
