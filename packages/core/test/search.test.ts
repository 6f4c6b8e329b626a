import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createMemorySearch } from "../src/embedded/search.js";
import { autoFuzziness } from "../src/embedded/search-text.js";
import { isBridgeError, type BridgeError } from "../src/errors.js";
import type { GeoPoint } from "../src/roles/data/inventory.js";
import type { IndexDefinition, SearchDocument, SearchRole } from "../src/roles/search.js";
import { runWithTenant } from "../src/tenant.js";

interface ProductRecord {
  name: string;
  description: string;
  brand: string;
  categories: string[];
  price: number;
  image: string;
  popularity: number;
}

interface StoreRecord {
  id: number;
  type: string;
  name: string;
  city: string;
  state: string;
  location: GeoPoint;
}

const products = JSON.parse(readFileSync(new URL("./fixtures/products-sample.json", import.meta.url), "utf8")) as ProductRecord[];
const stores = JSON.parse(readFileSync(new URL("./fixtures/stores-sample.json", import.meta.url), "utf8")) as StoreRecord[];

/** Returns the Best Buy SKU, the number in the image file name. */
function skuOf(product: ProductRecord): string {
  const match = /\/(\d+)_sb\.jpg$/.exec(product.image);
  if (!match?.[1]) throw new Error(`Image URL ${product.image} has no SKU: expected .../<digits>_sb.jpg`);
  return match[1];
}

const productDocuments: SearchDocument[] = products.map((product) => ({ id: skuOf(product), ...product }));

const PRODUCTS: IndexDefinition = {
  name: "products",
  fields: {
    name: "text",
    description: "text",
    brand: "keyword",
    categories: "keyword",
    price: "number",
    popularity: "number",
    image: "object",
  },
  searchableFields: [{ field: "name", boost: 3 }, "description"],
  autocompleteField: "name",
};

const STORES: IndexDefinition = {
  name: "stores",
  fields: { name: "text", city: "keyword", state: "keyword", type: "keyword", location: "geo_point" },
};

const MINNEAPOLIS: GeoPoint = { lat: 44.9778, lon: -93.265 };

async function productSearch(): Promise<SearchRole> {
  const search = createMemorySearch();
  await search.ensureIndex(PRODUCTS);
  const result = await search.bulkIndex("products", productDocuments);
  expect(result.failed).toEqual([]);
  return search;
}

async function storeSearch(): Promise<SearchRole> {
  const search = createMemorySearch();
  await search.ensureIndex(STORES);
  const documents = stores.map((store) => ({ ...store, id: String(store.id) }));
  const result = await search.bulkIndex("stores", documents);
  expect(result.failed).toEqual([]);
  return search;
}

async function caught(promise: Promise<unknown>): Promise<BridgeError> {
  try {
    await promise;
  } catch (error) {
    if (isBridgeError(error)) return error;
    throw error;
  }
  throw new Error("expected the call to throw a BridgeError");
}

/** Words of a text split the way the index splits them, for counting by hand. */
function words(text: string): string[] {
  return text.toLowerCase().split(/[^a-z0-9_'-]+/).filter(Boolean);
}

function haversineKm(a: GeoPoint, b: GeoPoint): number {
  const radians = Math.PI / 180;
  const h =
    Math.sin(((b.lat - a.lat) * radians) / 2) ** 2 +
    Math.cos(a.lat * radians) * Math.cos(b.lat * radians) * Math.sin(((b.lon - a.lon) * radians) / 2) ** 2;
  return 2 * 6371 * Math.atan2(Math.sqrt(h), Math.sqrt(1 - h));
}

describe("memory search: full text", () => {
  it("fuzzy samsng finds Samsung", async () => {
    const search = await productSearch();
    const result = await search.search({ index: "products", text: "samsng", fuzzy: true, pageSize: 50 });
    const samsungNames = products.filter((product) => words(product.name).includes("samsung")).length;

    expect(result.total).toBeGreaterThanOrEqual(samsungNames);
    expect(result.hits[0]?.document.name).toMatch(/samsung/i);
    for (const hit of result.hits) {
      expect(`${hit.document.name} ${hit.document.description}`).toMatch(/samsung/i);
    }
  });

  it("exact search misses samsng", async () => {
    const search = await productSearch();
    const result = await search.search({ index: "products", text: "samsng" });
    expect(result.total).toBe(0);
  });

  it("auto fuzziness follows term length", async () => {
    expect(autoFuzziness("s7")).toBe(0);
    expect(autoFuzziness("moto")).toBe(1);
    expect(autoFuzziness("galxy")).toBe(1);
    expect(autoFuzziness("samsng")).toBe(2);

    const search = await productSearch();
    // 5 characters allow 1 edit: "galxy" is one insertion from "galaxy", "glxy" is two.
    expect((await search.search({ index: "products", text: "galxy", fuzzy: true })).total).toBeGreaterThan(0);
    expect((await search.search({ index: "products", text: "glxy", fuzzy: true })).total).toBe(0);
    // 1-2 characters match exactly: "s8" does not reach "s7".
    expect((await search.search({ index: "products", text: "s8", fuzzy: true })).total).toBe(0);
    // An explicit edit distance applies to every term.
    expect((await search.search({ index: "products", text: "glxy", fuzzy: 2 })).total).toBeGreaterThan(0);
  });

  it("every term must match", async () => {
    const search = await productSearch();
    const result = await search.search({ index: "products", text: "otterbox defender", pageSize: 50 });
    const expected = productDocuments
      .filter((document) => {
        const all = words(`${document.name} ${document.description}`);
        return all.includes("otterbox") && all.includes("defender");
      })
      .map((document) => document.id)
      .sort();

    expect(expected.length).toBeGreaterThan(0);
    expect(result.hits.map((hit) => hit.id).sort()).toEqual(expected);
  });

  it("boost ranks the boosted field first", async () => {
    const search = createMemorySearch();
    const fields = { title: "text", body: "text" } as const;
    await search.ensureIndex({ name: "title-first", fields, searchableFields: [{ field: "title", boost: 5 }, "body"] });
    await search.ensureIndex({ name: "body-first", fields, searchableFields: ["title", { field: "body", boost: 5 }] });
    const documents = [
      { id: "in-title", title: "lightning cable", body: "braided usb cord" },
      { id: "in-body", title: "braided usb cord", body: "lightning cable" },
    ];
    await search.bulkIndex("title-first", documents);
    await search.bulkIndex("body-first", documents);

    const titleFirst = await search.search({ index: "title-first", text: "lightning" });
    const bodyFirst = await search.search({ index: "body-first", text: "lightning" });
    expect(titleFirst.hits.map((hit) => hit.id)).toEqual(["in-title", "in-body"]);
    expect(bodyFirst.hits.map((hit) => hit.id)).toEqual(["in-body", "in-title"]);
  });

  it("fields limits the searched fields", async () => {
    const search = await productSearch();
    const inNames = await search.search({ index: "products", text: "verizon", fields: ["name"], pageSize: 50 });
    const expected = products.filter((product) => words(product.name).includes("verizon")).length;
    expect(inNames.total).toBe(expected);
  });
});

describe("memory search: user text is text", () => {
  const hostile = [
    "title:foo AND (bar OR baz~2)",
    "*",
    "\\",
    '"unterminated',
    "samsung*",
    "brand:Apple",
    "'; DROP TABLE products; --",
    "<script>alert(1)</script>",
    "((((",
    "a".repeat(5000),
    "name:/.*/",
    "${jndi:ldap://x}",
    "\u0000\uffff",
  ];

  it("reserved characters never throw", async () => {
    const search = await productSearch();
    for (const text of hostile) {
      for (const fuzzy of [false, true]) {
        const result = await search.search({ index: "products", text, fuzzy, highlight: true, facets: ["brand"] });
        expect(result.total, `text ${JSON.stringify(text)}`).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it("query syntax is not interpreted", async () => {
    const search = await productSearch();
    // As field syntax, brand:Apple would return the five Apple products; as text it needs the word "brand".
    expect((await search.search({ index: "products", text: "brand:Apple" })).total).toBe(0);
    expect((await search.search({ index: "products", text: "title:foo AND (bar OR baz~2)" })).total).toBe(0);
    // Only punctuation yields no terms, so it matches nothing instead of everything.
    expect((await search.search({ index: "products", text: "*" })).total).toBe(0);
    expect((await search.search({ index: "products", text: "\\" })).total).toBe(0);
  });

  it("punctuation around words is ignored", async () => {
    const search = await productSearch();
    const plain = await search.search({ index: "products", text: "samsung galaxy", pageSize: 50 });
    const quoted = await search.search({ index: "products", text: '"samsung (galaxy', pageSize: 50 });
    expect(plain.total).toBeGreaterThan(0);
    expect(quoted.hits.map((hit) => hit.id)).toEqual(plain.hits.map((hit) => hit.id));
  });

  it("too many terms is a validation error", async () => {
    const search = await productSearch();
    const text = Array.from({ length: 1025 }, (_, i) => `w${i}`).join(" ");
    const error = await caught(search.search({ index: "products", text }));
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.message).toContain("1025 distinct terms");
  });
});

describe("memory search: filters and facets", () => {
  it("facet counts match a manual count", async () => {
    const search = await productSearch();
    const result = await search.search({ index: "products", text: "iphone", facets: ["brand", "categories"], pageSize: 3 });

    const matching = products.filter((product) => words(`${product.name} ${product.description}`).includes("iphone"));
    const brandCounts = new Map<string, number>();
    for (const product of matching) brandCounts.set(product.brand, (brandCounts.get(product.brand) ?? 0) + 1);

    expect(result.total).toBe(matching.length);
    expect(result.hits).toHaveLength(3);
    const facetCounts = new Map(result.facets.brand?.map((facet) => [facet.value, facet.count]));
    expect(facetCounts).toEqual(brandCounts);
    // Counts cover the whole result, not the 3 hits of the page.
    const counted = result.facets.brand?.reduce((sum, facet) => sum + facet.count, 0);
    expect(counted).toBe(matching.length);

    const cases = matching.filter((product) => product.categories.includes("Cell Phone Cases & Clips")).length;
    expect(result.facets.categories?.find((facet) => facet.value === "Cell Phone Cases & Clips")?.count).toBe(cases);
  });

  it("facets are sorted and capped", async () => {
    const search = await productSearch();
    const result = await search.search({ index: "products", facets: ["brand"], facetSize: 3, pageSize: 0 });
    expect(result.hits).toEqual([]);
    expect(result.facets.brand?.map((facet) => facet.value)).toEqual(["Samsung", "Apple", "Incipio"]);
    expect(result.facets.brand?.map((facet) => facet.count)).toEqual([6, 5, 4]);
  });

  it("eq, in and range filters", async () => {
    const search = await productSearch();
    const cheapCases = await search.search({
      index: "products",
      filters: [
        { field: "categories", eq: "Cell Phone Cases & Clips" },
        { field: "brand", in: ["OtterBox", "Speck"] },
        { field: "price", gte: 30, lt: 60 },
      ],
      pageSize: 50,
    });
    const expected = productDocuments
      .filter((document) => {
        const product = document as unknown as ProductRecord;
        return (
          product.categories.includes("Cell Phone Cases & Clips") &&
          ["OtterBox", "Speck"].includes(product.brand) &&
          product.price >= 30 &&
          product.price < 60
        );
      })
      .map((document) => document.id)
      .sort();

    expect(expected.length).toBeGreaterThan(0);
    expect(cheapCases.hits.map((hit) => hit.id).sort()).toEqual(expected);
  });

  it("boolean and number filters", async () => {
    const search = createMemorySearch();
    await search.ensureIndex({ name: "offers", fields: { title: "text", inStock: "boolean", quantity: "number" } });
    await search.bulkIndex("offers", [
      { id: "a", title: "usb cable", inStock: true, quantity: 3 },
      { id: "b", title: "usb charger", inStock: false, quantity: 0 },
      { id: "c", title: "usb hub", inStock: true, quantity: 12 },
      { id: "d", title: "usb lamp" },
    ]);

    const inStock = await search.search({ index: "offers", filters: [{ field: "inStock", eq: true }] });
    expect(inStock.hits.map((hit) => hit.id).sort()).toEqual(["a", "c"]);
    const outOfStock = await search.search({ index: "offers", filters: [{ field: "inStock", eq: false }] });
    expect(outOfStock.hits.map((hit) => hit.id)).toEqual(["b"]);
    const either = await search.search({ index: "offers", filters: [{ field: "inStock", in: [true, false] }] });
    expect(either.total).toBe(3);
    const quantities = await search.search({ index: "offers", text: "usb", filters: [{ field: "quantity", in: [0, 12] }] });
    expect(quantities.hits.map((hit) => hit.id).sort()).toEqual(["b", "c"]);
  });

  it("missing values sort last", async () => {
    const search = createMemorySearch();
    await search.ensureIndex({ name: "offers", fields: { quantity: "number" } });
    await search.bulkIndex("offers", [{ id: "none" }, { id: "low", quantity: 1 }, { id: "high", quantity: 9 }]);
    for (const order of ["asc", "desc"] as const) {
      const result = await search.search({ index: "offers", sort: [{ field: "quantity", order }] });
      expect(result.hits.at(-1)?.id, order).toBe("none");
    }
  });

  it("empty in matches nothing", async () => {
    const search = await productSearch();
    const result = await search.search({ index: "products", filters: [{ field: "brand", in: [] }] });
    expect(result.total).toBe(0);
  });

  it("unknown filter field is rejected", async () => {
    const search = await productSearch();
    const error = await caught(search.search({ index: "products", filters: [{ field: "colour", eq: "red" }] }));
    expect(error.code).toBe("INVALID_FILTER");
    expect(error.message).toContain('"colour"');
    expect(error.message).toContain("brand");
  });

  it("bad filters are rejected", async () => {
    const search = await productSearch();
    const filters = [
      { field: "name", eq: "iphone" },
      { field: "price", eq: "cheap" },
      { field: "brand", gte: 3 },
      { field: "price" },
      { field: "price", eq: 1, gte: 1 },
      { field: "brand", in: "Apple" },
    ];
    for (const filter of filters) {
      const error = await caught(search.search({ index: "products", filters: [filter as never] }));
      expect(error.code, JSON.stringify(filter)).toBe("INVALID_FILTER");
    }
  });

  it("non-keyword facet is rejected", async () => {
    const search = await productSearch();
    for (const facet of ["price", "colour"]) {
      const error = await caught(search.search({ index: "products", facets: [facet] }));
      expect(error.code).toBe("VALIDATION_FAILED");
      expect(error.message).toContain(facet);
    }
  });

  it("date fields filter and sort", async () => {
    const search = createMemorySearch();
    await search.ensureIndex({ name: "orders", fields: { placedAt: "date", status: "keyword" } });
    await search.bulkIndex("orders", [
      { id: "o1", placedAt: "2024-03-01T10:00:00Z", status: "open" },
      { id: "o2", placedAt: new Date("2024-01-15T00:00:00Z"), status: "open" },
      { id: "o3", placedAt: Date.parse("2024-02-10T00:00:00Z"), status: "closed" },
    ]);

    const february = await search.search({
      index: "orders",
      filters: [{ field: "placedAt", gte: Date.parse("2024-02-01T00:00:00Z"), lt: Date.parse("2024-03-01T00:00:00Z") }],
    });
    expect(february.hits.map((hit) => hit.id)).toEqual(["o3"]);

    const newest = await search.search({ index: "orders", sort: [{ field: "placedAt", order: "desc" }] });
    expect(newest.hits.map((hit) => hit.id)).toEqual(["o1", "o3", "o2"]);
  });
});

describe("memory search: sort and pagination", () => {
  it("sorts by price both ways", async () => {
    const search = await productSearch();
    const ascending = await search.search({ index: "products", sort: [{ field: "price", order: "asc" }], pageSize: 50 });
    const prices = ascending.hits.map((hit) => hit.document.price as number);
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
    expect(prices).toHaveLength(products.length);

    const descending = await search.search({ index: "products", sort: [{ field: "price", order: "desc" }], pageSize: 1 });
    expect(descending.hits[0]?.document.price).toBe(Math.max(...products.map((product) => product.price)));
  });

  it("pages do not overlap", async () => {
    const search = await productSearch();
    const sort = [{ field: "popularity", order: "desc" as const }];
    const first = await search.search({ index: "products", sort, page: 1, pageSize: 7 });
    const second = await search.search({ index: "products", sort, page: 2, pageSize: 7 });
    const all = await search.search({ index: "products", sort, pageSize: 14 });
    expect([...first.hits, ...second.hits].map((hit) => hit.id)).toEqual(all.hits.map((hit) => hit.id));
    expect(second.page).toBe(2);
  });

  it("searchAfter walks every hit once", async () => {
    const search = await productSearch();
    const sort = [{ field: "brand", order: "asc" as const }, { field: "price", order: "desc" as const }];
    const everything = await search.search({ index: "products", sort, pageSize: 50 });

    const seen: string[] = [];
    let cursor: unknown[] | undefined;
    for (let round = 0; round < 20; round++) {
      const result = await search.search({ index: "products", sort, pageSize: 4, ...(cursor ? { searchAfter: cursor } : {}) });
      seen.push(...result.hits.map((hit) => hit.id));
      expect(result.total).toBe(products.length);
      if (result.nextSearchAfter === null) break;
      cursor = result.nextSearchAfter;
    }
    expect(seen).toEqual(everything.hits.map((hit) => hit.id));
  });

  it("searchAfter follows score order", async () => {
    const search = await productSearch();
    const everything = await search.search({ index: "products", text: "case", pageSize: 50 });
    const seen: string[] = [];
    let cursor: unknown[] | undefined;
    do {
      const result = await search.search({ index: "products", text: "case", pageSize: 3, ...(cursor ? { searchAfter: cursor } : {}) });
      seen.push(...result.hits.map((hit) => hit.id));
      cursor = result.nextSearchAfter ?? undefined;
    } while (cursor !== undefined);
    expect(everything.total).toBeGreaterThan(3);
    expect(seen).toEqual(everything.hits.map((hit) => hit.id));
  });

  it("bad cursor is rejected", async () => {
    const search = await productSearch();
    const sort = [{ field: "price", order: "asc" as const }];
    for (const searchAfter of [["cheap", "5320800"], [10], [10, 5320800], "10"]) {
      const error = await caught(search.search({ index: "products", sort, searchAfter: searchAfter as never }));
      expect(error.code).toBe("VALIDATION_FAILED");
      expect(error.message).toContain("nextSearchAfter");
    }
    const withPage = await caught(search.search({ index: "products", sort, page: 2, searchAfter: [10, "x"] }));
    expect(withPage.message).toContain("searchAfter cannot be combined with page 2");
  });

  it("pageSize above maxResults is rejected", async () => {
    const search = createMemorySearch({ maxResults: 20 });
    await search.ensureIndex(PRODUCTS);
    const error = await caught(search.search({ index: "products", pageSize: 21 }));
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.message).toContain("pageSize 21 is above the maximum of 20");
    expect((await search.search({ index: "products", pageSize: 20 })).pageSize).toBe(20);
  });

  it("bad paging and sort are rejected", async () => {
    const search = await productSearch();
    const queries = [
      { page: 0 },
      { page: 1.5 },
      { pageSize: -1 },
      { sort: [{ field: "name", order: "asc" }] },
      { sort: [{ field: "price", order: "up" }] },
      { fuzzy: 3 },
      { fields: ["brand"] },
      { text: "iphone", fields: [] },
      { text: 42 },
    ];
    for (const query of queries) {
      const error = await caught(search.search({ index: "products", ...(query as object) }));
      expect(error.code, JSON.stringify(query)).toBe("VALIDATION_FAILED");
    }
  });
});

describe("memory search: highlight and autocomplete", () => {
  it("highlights matched words", async () => {
    const search = await productSearch();
    const result = await search.search({ index: "products", text: "otterbox defender", highlight: true });
    const first = result.hits[0];
    expect(first?.highlights?.name?.[0]).toContain("<em>OtterBox</em>");
    expect(first?.highlights?.name?.[0]).toContain("<em>Defender</em>");
  });

  it("highlights fuzzy matches", async () => {
    const search = await productSearch();
    const result = await search.search({ index: "products", text: "samsng", fuzzy: true, highlight: true });
    expect(result.hits[0]?.highlights?.name?.[0]).toContain("<em>Samsung</em>");
  });

  it("highlights escape HTML", async () => {
    const search = createMemorySearch();
    await search.ensureIndex({ name: "notes", fields: { body: "text" } });
    await search.index("notes", { id: "n1", body: 'Case <b onclick="x()">bold</b> & more' });
    const result = await search.search({ index: "notes", text: "case", highlight: true });
    expect(result.hits[0]?.highlights?.body).toEqual(['<em>Case</em> &lt;b onclick=&quot;x()&quot;&gt;bold&lt;/b&gt; &amp; more']);
  });

  it("long values give fragments", async () => {
    const search = await productSearch();
    const result = await search.search({ index: "products", text: "amoled", fields: ["description"], highlight: true });
    for (const hit of result.hits) {
      const fragments = hit.highlights?.description ?? [];
      expect(fragments.length).toBeGreaterThan(0);
      for (const fragment of fragments) {
        expect(fragment).toMatch(/<em>amoled<\/em>/i);
        expect(fragment.length).toBeLessThan((hit.document.description as string).length);
      }
    }
  });

  it("autocomplete returns distinct names", async () => {
    const search = await productSearch();
    await search.index("products", { ...productDocuments[2]!, id: "copy-of-s7-edge" });
    const suggestions = await search.autocomplete("products", "galaxy s7 ed", { limit: 10 });

    expect(suggestions.length).toBeGreaterThan(0);
    expect(new Set(suggestions).size).toBe(suggestions.length);
    for (const suggestion of suggestions) {
      expect(suggestion).toMatch(/galaxy s7 edge/i);
    }
  });

  it("autocomplete prefers leading matches", async () => {
    const search = await productSearch();
    const suggestions = await search.autocomplete("products", "sams", { limit: 5 });
    expect(suggestions).toHaveLength(5);
    expect(suggestions[0]).toMatch(/^Samsung/);
  });

  it("autocomplete of nothing is empty", async () => {
    const search = await productSearch();
    expect(await search.autocomplete("products", "")).toEqual([]);
    expect(await search.autocomplete("products", "(*)")).toEqual([]);
    const error = await caught(search.autocomplete("products", "sam", { field: "brand" }));
    expect(error.code).toBe("VALIDATION_FAILED");
  });
});

describe("memory search: geo", () => {
  it("radius returns nearest stores first", async () => {
    const search = await storeSearch();
    const result = await search.search({
      index: "stores",
      geo: { field: "location", center: MINNEAPOLIS, radiusKm: 15 },
      sort: [{ distanceFrom: MINNEAPOLIS, field: "location" }],
      pageSize: 50,
    });

    const expected = stores.filter((store) => haversineKm(MINNEAPOLIS, store.location) <= 15).map((store) => String(store.id));
    expect(expected.length).toBeGreaterThan(5);
    expect(result.hits.map((hit) => hit.id).sort()).toEqual(expected.sort());

    const distances = result.hits.map((hit) => hit.distanceKm ?? Number.NaN);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
    expect(distances[0]).toBeLessThan(1);
    expect(Math.max(...distances)).toBeLessThanOrEqual(15);
    expect(result.hits[0]?.document.name).toBe("Marriott City Center");
  });

  it("re-indexing keeps geo and range hits", async () => {
    // Enough points for Orama's geo and number trees to split; replacing
    // documents one by one once lost entries of other documents.
    const search = createMemorySearch();
    await search.ensureIndex({ name: "grid", fields: { location: "geo_point", n: "number" } });
    const documents = Array.from({ length: 1500 }, (_, n) => ({
      id: `p${n}`,
      n,
      location: { lat: 30 + (n % 50) * 0.3, lon: -120 + Math.floor(n / 50) * 1.0 },
    }));
    await search.bulkIndex("grid", documents);
    const near = { index: "grid", geo: { field: "location", center: { lat: 37.5, lon: -105 }, radiusKm: 150 }, pageSize: 100 } as const;
    const range = { index: "grid", filters: [{ field: "n", gte: 100, lte: 199 }], pageSize: 100 };
    const nearBefore = (await search.search(near)).total;
    expect(nearBefore).toBeGreaterThan(10);

    await search.bulkIndex("grid", documents);
    await search.delete("grid", "p150");
    await search.index("grid", documents[150]!);

    expect((await search.search(near)).total).toBe(nearBefore);
    expect((await search.search(range)).total).toBe(100);
    expect(await search.count("grid")).toBe(1500);
  });

  it("distance sort descending", async () => {
    const search = await storeSearch();
    const result = await search.search({ index: "stores", sort: [{ distanceFrom: MINNEAPOLIS, field: "location", order: "desc" }], pageSize: 1 });
    expect(result.hits[0]?.document.city).toBe("Honolulu");
    expect(result.hits[0]?.distanceKm).toBeGreaterThan(5000);
  });

  it("polygon returns stores inside", async () => {
    const search = await storeSearch();
    // Open ring around Minnesota's bounding box; the provider closes it.
    const polygon = [
      { lat: 43.5, lon: -97.2 },
      { lat: 49.4, lon: -97.2 },
      { lat: 49.4, lon: -89.5 },
      { lat: 43.5, lon: -89.5 },
    ];
    const result = await search.search({ index: "stores", geo: { field: "location", polygon }, facets: ["state"], pageSize: 50 });
    const minnesota = stores.filter((store) => store.state === "MN").map((store) => String(store.id));

    expect(result.hits.map((hit) => hit.id).sort()).toEqual(minnesota.sort());
    expect(result.facets.state).toEqual([{ value: "MN", count: minnesota.length }]);
  });

  it("bad geo queries are rejected", async () => {
    const search = await storeSearch();
    const queries = [
      { field: "location", center: { lat: 95, lon: 0 }, radiusKm: 5 },
      { field: "location", center: MINNEAPOLIS, radiusKm: 0 },
      { field: "city", center: MINNEAPOLIS, radiusKm: 5 },
      { field: "location", polygon: [MINNEAPOLIS, MINNEAPOLIS, MINNEAPOLIS] },
      { field: "location" },
    ];
    for (const geo of queries) {
      const error = await caught(search.search({ index: "stores", geo: geo as never }));
      expect(error.code, JSON.stringify(geo)).toBe("INVALID_FILTER");
    }
  });

  it("shapes containing a point", async () => {
    const search = createMemorySearch();
    expect(search.capabilities.geoShapes).toBe(true);
    await search.ensureIndex({ name: "zones", fields: { name: "keyword", area: "geo_shape" } });
    const downtown = [[-93.3, 44.96], [-93.24, 44.96], [-93.24, 45.0], [-93.3, 45.0], [-93.3, 44.96]];
    const metro = [[-93.6, 44.7], [-92.9, 44.7], [-92.9, 45.2], [-93.6, 45.2], [-93.6, 44.7]];
    const result = await search.bulkIndex("zones", [
      { id: "downtown", name: "Downtown", area: { type: "Polygon", coordinates: [downtown] } },
      // Metro ring with downtown cut out as a hole.
      { id: "suburbs", name: "Suburbs", area: { type: "Polygon", coordinates: [metro, downtown] } },
      { id: "two-cities", name: "Twin cities", area: { type: "MultiPolygon", coordinates: [[downtown], [[[-93.1, 44.9], [-93.0, 44.9], [-93.0, 45.0], [-93.1, 44.9]]]] } },
      { id: "open-ring", name: "Broken", area: { type: "Polygon", coordinates: [[[-93.3, 44.96], [-93.24, 44.96], [-93.24, 45.0], [-93.3, 45.0]]] } },
    ]);
    expect(result.indexed).toBe(3);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]?.id).toBe("open-ring");
    expect(result.failed[0]?.message).toContain("not closed");

    const inDowntown = await search.shapesContaining!("zones", "area", MINNEAPOLIS);
    expect(inDowntown.map((hit) => hit.id)).toEqual(["downtown", "two-cities"]);
    const inBloomington = await search.shapesContaining!("zones", "area", { lat: 44.85466, lon: -93.24565 });
    expect(inBloomington.map((hit) => hit.id)).toEqual(["suburbs"]);
    const inChicago = await search.shapesContaining!("zones", "area", { lat: 41.88, lon: -87.63 });
    expect(inChicago).toEqual([]);
  });
});

describe("memory search: indexes and documents", () => {
  it("unknown index says to call ensureIndex", async () => {
    const search = createMemorySearch();
    const error = await caught(search.search({ index: "products", text: "phone" }));
    expect(error.code).toBe("NOT_FOUND");
    expect(error.message).toContain("ensureIndex");
    expect(error.message).toContain('"products"');
    await expect(search.count("products")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(search.index("products", { id: "1" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("bulk with a bad document", async () => {
    const search = createMemorySearch();
    await search.ensureIndex(PRODUCTS);
    const progress: Array<[number, number]> = [];
    const documents = [
      productDocuments[0]!,
      { ...productDocuments[1]!, price: "cheap" },
      productDocuments[2]!,
      { name: "no id" },
      null,
      { ...productDocuments[3]!, categories: ["Cell Phones", 7] },
      productDocuments[4]!,
    ] as SearchDocument[];

    const result = await search.bulkIndex("products", documents, { onProgress: (done, total) => progress.push([done, total]) });

    expect(result.indexed).toBe(3);
    expect(result.failed.map((failure) => failure.index)).toEqual([1, 3, 4, 5]);
    expect(result.failed[0]?.id).toBe(productDocuments[1]!.id);
    expect(result.failed[0]?.message).toContain('field "price" (number) must be a finite number, got "cheap"');
    expect(result.failed[1]?.id).toBeUndefined();
    expect(result.failed[1]?.message).toContain("id");
    expect(result.failed[3]?.message).toContain('"categories"');
    expect(await search.count("products")).toBe(3);
    expect(progress.at(-1)).toEqual([7, 7]);
  });

  it("index replaces and delete removes", async () => {
    const search = await productSearch();
    const original = productDocuments[0]!;
    await search.index("products", { ...original, name: "Renamed handset" });
    expect(await search.count("products")).toBe(products.length);
    expect((await search.search({ index: "products", text: "renamed" })).hits[0]?.id).toBe(original.id);
    expect((await search.search({ index: "products", text: "j3", fields: ["name"] })).hits.map((hit) => hit.id)).not.toContain(original.id);

    expect(await search.delete("products", original.id)).toBe(true);
    expect(await search.delete("products", original.id)).toBe(false);
    expect((await search.search({ index: "products", text: "renamed" })).total).toBe(0);
  });

  it("bad document throws on index", async () => {
    const search = await productSearch();
    const error = await caught(search.index("products", { id: "x", price: Number.NaN }));
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.message).toContain('"price"');
    expect(await search.count("products")).toBe(products.length);
  });

  it("stored documents are copies", async () => {
    const search = await productSearch();
    const document = { id: "mutable", name: "Original name" };
    await search.index("products", document);
    document.name = "Changed by caller";
    const hit = (await search.search({ index: "products", text: "original" })).hits[0];
    expect(hit?.document.name).toBe("Original name");
  });

  it("ensureIndex is idempotent", async () => {
    const search = await productSearch();
    await search.ensureIndex(PRODUCTS);
    expect(await search.count("products")).toBe(products.length);

    const error = await caught(search.ensureIndex({ ...PRODUCTS, fields: { ...PRODUCTS.fields, price: "keyword" } }));
    expect(error.code).toBe("CONFLICT");
    expect(error.message).toContain("dropIndex");

    await search.dropIndex("products");
    await search.dropIndex("products");
    await expect(search.count("products")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("invalid definitions are rejected", async () => {
    const search = createMemorySearch();
    const definitions = [
      { name: "Products", fields: { name: "text" } },
      { name: "products", fields: {} },
      { name: "products", fields: { name: "string" } },
      { name: "products", fields: { id: "keyword" } },
      { name: "products", fields: { name: "text", brand: "keyword" }, searchableFields: ["brand"] },
      { name: "products", fields: { name: "text" }, searchableFields: [{ field: "name", boost: 0 }] },
      { name: "products", fields: { name: "text", brand: "keyword" }, autocompleteField: "brand" },
    ];
    for (const definition of definitions) {
      const error = await caught(search.ensureIndex(definition as IndexDefinition));
      expect(error.code, JSON.stringify(definition)).toBe("VALIDATION_FAILED");
    }
  });

  it("tenants never share an index", async () => {
    const search = createMemorySearch();
    await runWithTenant("acme", async () => {
      await search.ensureIndex(PRODUCTS);
      await search.bulkIndex("products", productDocuments);
    });

    await runWithTenant("globex", async () => {
      const missing = await caught(search.search({ index: "products", text: "samsung" }));
      expect(missing.code).toBe("NOT_FOUND");
      expect(missing.tenantId).toBe("globex");

      await search.ensureIndex(PRODUCTS);
      await search.index("products", { id: productDocuments[0]!.id, name: "Globex private handset" });
      expect(await search.count("products")).toBe(1);
      expect((await search.search({ index: "products", text: "samsung" })).total).toBe(0);
    });

    await runWithTenant("acme", async () => {
      expect(await search.count("products")).toBe(products.length);
      expect((await search.search({ index: "products", text: "globex" })).total).toBe(0);
      expect((await search.search({ index: "products", text: "samsung" })).total).toBeGreaterThan(0);
    });
  });
});
