import {
  runWithTenant,
  type GeoPoint,
  type SearchCapabilities,
  type SearchQuery,
  type SearchRole,
} from "@bridge/core";
import { afterEach, expect, it } from "vitest";
import {
  fixtureStores,
  haversineKm,
  productDocuments,
  productIndexDefinition,
  storeDocuments,
  storeIndexDefinition,
  type ProductDocument,
} from "../fixtures.js";
import { describeConformance, expectBridgeError, InstanceTracker, newNamespace, type CaseTimeoutOptions } from "../harness.js";

export interface SearchInstance {
  search: SearchRole;
  /** Deletes what the instance created (indexes, templates). */
  cleanup?: () => Promise<void>;
}

export interface SearchSuiteOptions extends CaseTimeoutOptions {
  /** One word that names the provider in test titles and in the conformance report. */
  provider: string;
  capabilities: SearchCapabilities;
  /**
   * Creates an instance isolated by `namespace`. Index names that the kit
   * uses also start with the namespace, such as `kt3f9a0c1d-products`.
   */
  create: (namespace: string) => Promise<SearchInstance>;
}

/** Downtown Minneapolis; the fixture has 7 stores within 23 km and the next one at 25 km. */
const MINNEAPOLIS: GeoPoint = { lat: 44.9778, lon: -93.265 };
const RADIUS_KM = 23;

/** A box around Los Angeles and Orange County, at least 0.08 degrees from every fixture store. */
const LOS_ANGELES_BOX: GeoPoint[] = [
  { lat: 33.5, lon: -118.6 },
  { lat: 33.5, lon: -117.5 },
  { lat: 34.3, lon: -117.5 },
  { lat: 34.3, lon: -118.6 },
];

/** Query text that query-string parsers treat as syntax. The search must match it as plain words. */
const QUERY_SYNTAX_TEXTS = [
  "title:foo",
  '"unclosed quote',
  "(iphone OR",
  "iphone AND NOT case",
  "*",
  "?",
  "\\",
  "iphone~2",
  "[1 TO 5]",
  "{!lucene}",
  "a && b || c",
  "/regex.*/",
  "+case -clear",
  "<script>alert(1)</script>",
  "AT&T (GoPhone",
  "price:>100",
  "",
  "   ",
];

function byId(a: string, b: string): number {
  return a.localeCompare(b, "en");
}

function containsWord(document: ProductDocument, word: string): boolean {
  const pattern = new RegExp(`\\b${word}\\b`, "i");
  return pattern.test(document.title) || pattern.test(document.description);
}

/** Registers the search conformance cases. Call it at the top level of a vitest test file. */
export function runSearchSuite(options: SearchSuiteOptions): void {
  const declared = options.capabilities;
  const tracker = new InstanceTracker<SearchInstance>();
  const products = productDocuments();
  const stores = storeDocuments();

  async function start() {
    const namespace = newNamespace();
    const instance = tracker.track(await options.create(namespace));
    return {
      search: instance.search,
      namespace,
      tenant: `${namespace}-a`,
      productIndex: `${namespace}-products`,
      storeIndex: `${namespace}-stores`,
    };
  }

  async function loadProducts(search: SearchRole, index: string): Promise<void> {
    await search.ensureIndex(productIndexDefinition(index));
    const result = await search.bulkIndex(index, products);
    expect(result.failed, "fixture products that failed to index").toEqual([]);
    expect(result.indexed).toBe(products.length);
    await search.refresh(index);
  }

  async function loadStores(search: SearchRole, index: string): Promise<void> {
    await search.ensureIndex(storeIndexDefinition(index));
    const result = await search.bulkIndex(index, stores);
    expect(result.failed, "fixture stores that failed to index").toEqual([]);
    await search.refresh(index);
  }

  /** Runs the query page by page and returns the ids of every hit in order. */
  async function allIds(search: SearchRole, query: SearchQuery): Promise<string[]> {
    const first = await search.search(query);
    const ids = first.hits.map((hit) => hit.id);
    const pages = Math.ceil(first.total / (query.pageSize ?? 10));
    for (let page = 2; page <= pages; page++) {
      ids.push(...(await search.search({ ...query, page })).hits.map((hit) => hit.id));
    }
    return ids;
  }

  describeConformance({ role: "search", provider: options.provider, capabilities: declared }, () => {
    afterEach(async () => {
      for (const instance of tracker.drain()) await instance.cleanup?.();
    });

    it("declares its capabilities", async () => {
      const { search } = await start();
      expect(search.capabilities, "search.capabilities must equal what the provider declares to the kit").toEqual(declared);
    });

    it("ensureIndex is idempotent", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await search.ensureIndex(productIndexDefinition(productIndex));
        await search.index(productIndex, products[0]!);
        await search.ensureIndex(productIndexDefinition(productIndex));
        await search.refresh(productIndex);
        expect(await search.count(productIndex), "a second ensureIndex must keep the documents").toBe(1);
      });
    });

    it("index replaces a document by id", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await search.ensureIndex(productIndexDefinition(productIndex));
        await search.index(productIndex, { ...products[0]!, title: "Walnut dock" });
        await search.index(productIndex, { ...products[0]!, title: "Marble dock" });
        await search.refresh(productIndex);

        expect(await search.count(productIndex)).toBe(1);
        expect((await search.search({ index: productIndex, text: "marble" })).total).toBe(1);
        expect((await search.search({ index: productIndex, text: "walnut" })).total).toBe(0);
      });
    });

    it("bulk reports per-document errors", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await search.ensureIndex(productIndexDefinition(productIndex));
        const progress: Array<[number, number]> = [];
        const result = await search.bulkIndex(
          productIndex,
          [products[0]!, { ...products[1]!, id: "" }, products[2]!, { ...products[3]!, id: "bad-price", priceMinor: "free" }],
          { onProgress: (done, total) => progress.push([done, total]) },
        );

        expect(result.indexed).toBe(2);
        expect(result.failed.map((failure) => failure.index)).toEqual([1, 3]);
        expect(result.failed[1]?.id).toBe("bad-price");
        for (const failure of result.failed) expect(failure.message, "each failure must say what is wrong").toMatch(/\S/);
        expect(progress.at(-1)).toEqual([4, 4]);
        await search.refresh(productIndex);
        expect(await search.count(productIndex)).toBe(2);
      });
    });

    it("delete removes a document", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadProducts(search, productIndex);
        const id = products[0]!.id;
        expect(await search.delete(productIndex, id)).toBe(true);
        expect(await search.delete(productIndex, id)).toBe(false);
        await search.refresh(productIndex);
        expect(await search.count(productIndex)).toBe(products.length - 1);
        const ids = await allIds(search, { index: productIndex, pageSize: 100 });
        expect(ids).not.toContain(id);
      });
    });

    it("full text finds matching products", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadProducts(search, productIndex);
        const expected = products.filter((product) => containsWord(product, "powerstation")).map((product) => product.id);

        const result = await search.search<ProductDocument>({ index: productIndex, text: "Powerstation", pageSize: 50 });
        expect(result.total).toBe(expected.length);
        expect(result.hits.map((hit) => hit.id).sort(byId)).toEqual([...expected].sort(byId));
        expect(result.hits[0]?.document.title, "the title boost ranks a title match first").toMatch(/powerstation/i);
        for (const hit of result.hits) expect(typeof hit.score).toBe("number");
      });
    });

    it("hits carry the stored document", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadProducts(search, productIndex);
        const alcatel = products.filter((product) => containsWord(product, "alcatel"));
        expect(alcatel).toHaveLength(1);

        const result = await search.search<ProductDocument>({ index: productIndex, text: "Alcatel" });
        expect(result.hits.map((hit) => hit.document)).toEqual(alcatel);
      });
    });

    it("filters narrow the results", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadProducts(search, productIndex);
        const count = (predicate: (product: ProductDocument) => boolean) => products.filter(predicate).length;

        const otterbox = await search.search<ProductDocument>({ index: productIndex, filters: [{ field: "brand", eq: "OtterBox" }], pageSize: 50 });
        expect(otterbox.total).toBe(count((product) => product.brand === "OtterBox"));
        for (const hit of otterbox.hits) expect(hit.document.brand).toBe("OtterBox");

        const either = await search.search({ index: productIndex, filters: [{ field: "brand", in: ["mophie", "Speck"] }] });
        expect(either.total).toBe(count((product) => product.brand === "mophie" || product.brand === "Speck"));

        const range = await search.search({ index: productIndex, filters: [{ field: "priceMinor", gte: 1_999, lte: 4_999 }] });
        expect(range.total).toBe(count((product) => product.priceMinor >= 1_999 && product.priceMinor <= 4_999));

        const exclusive = await search.search({ index: productIndex, filters: [{ field: "priceMinor", gt: 1_999, lt: 4_999 }] });
        expect(exclusive.total).toBe(count((product) => product.priceMinor > 1_999 && product.priceMinor < 4_999));

        const combined = await search.search<ProductDocument>({
          index: productIndex,
          text: "case",
          filters: [{ field: "brand", eq: "Speck" }],
          pageSize: 50,
        });
        expect(combined.total).toBe(count((product) => product.brand === "Speck" && containsWord(product, "case")));
        expect(combined.total).toBeGreaterThan(0);
      });
    });

    it("sort orders by a field", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadProducts(search, productIndex);
        const prices = products.map((product) => product.priceMinor);

        const ascending = await search.search<ProductDocument>({ index: productIndex, sort: [{ field: "priceMinor", order: "asc" }], pageSize: 60 });
        expect(ascending.hits.map((hit) => hit.document.priceMinor)).toEqual([...prices].sort((a, b) => a - b));

        const descending = await search.search<ProductDocument>({ index: productIndex, sort: [{ field: "priceMinor", order: "desc" }], pageSize: 60 });
        expect(descending.hits.map((hit) => hit.document.priceMinor)).toEqual([...prices].sort((a, b) => b - a));
      });
    });

    it("pages do not overlap", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadProducts(search, productIndex);
        const query: SearchQuery = { index: productIndex, sort: [{ field: "priceMinor", order: "asc" }], pageSize: 7 };

        const second = await search.search({ ...query, page: 2 });
        expect(second.page).toBe(2);
        expect(second.pageSize).toBe(7);
        expect(second.total).toBe(products.length);
        expect(second.hits).toHaveLength(7);

        const ids = await allIds(search, query);
        expect(ids).toHaveLength(products.length);
        expect(new Set(ids).size, "a document appeared on two pages").toBe(products.length);
      });
    });

    it("reserved characters are plain text", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadProducts(search, productIndex);
        for (const text of QUERY_SYNTAX_TEXTS) {
          const result = await search.search({ index: productIndex, text, fuzzy: declared.fuzzy ? true : undefined });
          expect(result.total, `total for text ${JSON.stringify(text)}`).toBeGreaterThanOrEqual(0);
          expect(Array.isArray(result.hits)).toBe(true);
        }
      });
    });

    it("field syntax in text matches nothing", async () => {
      const { search, tenant, namespace } = await start();
      const index = `${namespace}-accessories`;
      await runWithTenant(tenant, async () => {
        await search.ensureIndex({
          name: index,
          fields: { title: "text", description: "text", brand: "keyword" },
          searchableFields: ["title", "description"],
        });
        await search.bulkIndex(index, [
          { id: "a-1", title: "Leather folio", description: "Fits most phones", brand: "Zorvex" },
          { id: "a-2", title: "Zorvex charging cable", description: "Braided, two metres", brand: "Generic" },
        ]);
        await search.refresh(index);

        // As query syntax "brand:Zorvex" would match a-1 through its brand field, which is not searchable text.
        const result = await search.search({ index, text: "brand:Zorvex" });
        expect(result.hits.map((hit) => hit.id)).not.toContain("a-1");
        const plain = await search.search({ index, text: "Zorvex" });
        expect(plain.hits.map((hit) => hit.id)).toEqual(["a-2"]);
      });
    });

    it("tenants never see each other's documents", async () => {
      const { search, namespace, productIndex } = await start();
      const [tenantA, tenantB] = [`${namespace}-a`, `${namespace}-b`];
      await runWithTenant(tenantA, () => loadProducts(search, productIndex));

      await runWithTenant(tenantB, async () => {
        await search.ensureIndex(productIndexDefinition(productIndex));
        await search.index(productIndex, { ...products[0]!, id: "only-in-b", title: "Tenant B exclusive dock" });
        await search.refresh(productIndex);
        expect(await search.count(productIndex)).toBe(1);
        expect((await search.search({ index: productIndex, text: "iphone" })).total).toBe(0);
        expect(await search.delete(productIndex, products[1]!.id), "tenant B deleted a document of tenant A").toBe(false);
      });

      await runWithTenant(tenantA, async () => {
        expect(await search.count(productIndex)).toBe(products.length);
        expect((await search.search({ index: productIndex, text: "exclusive" })).total).toBe(0);
      });
    });

    it("invalid queries are rejected", async () => {
      const { search, tenant, namespace, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadProducts(search, productIndex);
        await expectBridgeError(search.search({ index: `${namespace}-missing` }), "NOT_FOUND", [`${namespace}-missing`]);
        await expectBridgeError(search.search({ index: productIndex, page: 0 }), "VALIDATION_FAILED");
        await expectBridgeError(search.search({ index: productIndex, pageSize: -1 }), "VALIDATION_FAILED");
        await expectBridgeError(
          search.search({ index: productIndex, filters: [{ field: "priceMinor", eq: { $gt: 0 } as unknown as number }] }),
          ["INVALID_FILTER", "VALIDATION_FAILED"],
        );
        await expectBridgeError(
          search.search({ index: productIndex, filters: [{ field: "$where", eq: "1 == 1" }] }),
          ["INVALID_FILTER", "VALIDATION_FAILED"],
          ["$where"],
        );
        await expectBridgeError(search.index(productIndex, { id: "" }), "VALIDATION_FAILED");
      });
    });

    it.runIf(declared.fuzzy)("fuzzy matches a misspelling", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadProducts(search, productIndex);
        const expected = products.filter((product) => containsWord(product, "powerstation")).length;

        expect((await search.search({ index: productIndex, text: "powrstation", fuzzy: true })).total).toBe(expected);
        expect((await search.search({ index: productIndex, text: "powrstation" })).total, "fuzzy matching must be off unless asked for").toBe(0);
      });
    });

    it.runIf(declared.facets)("facets count values", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadProducts(search, productIndex);
        const expected = new Map<string, number>();
        for (const product of products) expected.set(product.brand, (expected.get(product.brand) ?? 0) + 1);

        const result = await search.search({ index: productIndex, facets: ["brand"], facetSize: 50 });
        const brands = result.facets.brand ?? [];
        expect(new Map(brands.map((facet) => [facet.value, facet.count]))).toEqual(expected);
        const counts = brands.map((facet) => facet.count);
        expect(counts, "facet values come most frequent first").toEqual([...counts].sort((a, b) => b - a));

        const limited = await search.search({ index: productIndex, facets: ["brand"], facetSize: 3 });
        expect(limited.facets.brand).toHaveLength(3);

        const filtered = await search.search({ index: productIndex, text: "case", facets: ["brand"], facetSize: 50 });
        const total = (filtered.facets.brand ?? []).reduce((sum, facet) => sum + facet.count, 0);
        expect(total, "facet counts follow the query").toBe(filtered.total);
      });
    });

    it.runIf(declared.deepPagination)("searchAfter walks every page", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadProducts(search, productIndex);
        const query: SearchQuery = { index: productIndex, sort: [{ field: "priceMinor", order: "asc" }], pageSize: 7 };
        const prices: number[] = [];
        const ids = new Set<string>();

        let searchAfter: unknown[] | null | undefined;
        for (let pages = 0; pages < 20; pages++) {
          const result = await search.search<ProductDocument>(searchAfter ? { ...query, searchAfter } : query);
          for (const hit of result.hits) {
            ids.add(hit.id);
            prices.push(hit.document.priceMinor);
          }
          searchAfter = result.nextSearchAfter;
          if (searchAfter === null) break;
        }

        expect(searchAfter, "the last page has no nextSearchAfter").toBeNull();
        expect(ids.size).toBe(products.length);
        expect(prices).toEqual([...prices].sort((a, b) => a - b));
      });
    });

    it.runIf(declared.highlight)("highlight marks matched words", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadProducts(search, productIndex);
        const result = await search.search({ index: productIndex, text: "powerstation", highlight: true, pageSize: 50 });
        expect(result.hits.length).toBeGreaterThan(0);
        for (const hit of result.hits) {
          const fragments = Object.values(hit.highlights ?? {}).flat();
          expect(fragments.length, `highlights of ${hit.id}`).toBeGreaterThan(0);
          expect(fragments.some((fragment) => /powerstation/i.test(fragment))).toBe(true);
          expect(fragments.some((fragment) => /<[a-z]+>powerstation<\/[a-z]+>/i.test(fragment)), "the matched word is wrapped in a tag").toBe(true);
        }
      });
    });

    it.runIf(declared.autocomplete)("autocomplete completes a prefix", async () => {
      const { search, tenant, productIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadProducts(search, productIndex);
        const suggestions = await search.autocomplete(productIndex, "powers");
        expect(suggestions.length).toBeGreaterThan(0);
        for (const suggestion of suggestions) expect(suggestion.toLowerCase()).toContain("powers");

        expect((await search.autocomplete(productIndex, "powers", { limit: 2 })).length).toBeLessThanOrEqual(2);
        expect(await search.autocomplete(productIndex, "zqxj")).toEqual([]);
      });
    });

    it.runIf(declared.geoRadius)("radius finds nearby stores", async () => {
      const { search, tenant, storeIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadStores(search, storeIndex);
        const expected = stores.filter((store) => haversineKm(MINNEAPOLIS, store.location) <= RADIUS_KM).map((store) => store.id);

        const result = await search.search({
          index: storeIndex,
          geo: { field: "location", center: MINNEAPOLIS, radiusKm: RADIUS_KM },
          sort: [{ field: "location", distanceFrom: MINNEAPOLIS, order: "asc" }],
          pageSize: 50,
        });
        expect(result.hits.map((hit) => hit.id).sort(byId)).toEqual([...expected].sort(byId));

        const distances = result.hits.map((hit) => hit.distanceKm);
        for (const [position, hit] of result.hits.entries()) {
          const store = stores.find((candidate) => candidate.id === hit.id)!;
          const expectedKm = haversineKm(MINNEAPOLIS, store.location);
          // 1% covers providers that measure on an ellipsoid instead of a sphere.
          expect(Math.abs(distances[position]! - expectedKm), `distanceKm of store ${hit.id}`).toBeLessThanOrEqual(expectedKm * 0.01);
        }
        expect(distances, "distance sort is nearest first").toEqual([...distances].sort((a, b) => a! - b!));
      });
    });

    it.runIf(declared.geoRadius)("negative radius is rejected", async () => {
      const { search, tenant, storeIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadStores(search, storeIndex);
        await expectBridgeError(
          search.search({ index: storeIndex, geo: { field: "location", center: MINNEAPOLIS, radiusKm: -5 } }),
          ["VALIDATION_FAILED", "INVALID_FILTER"],
          ["-5"],
        );
      });
    });

    it.runIf(declared.geoPolygon)("polygon finds stores inside", async () => {
      const { search, tenant, storeIndex } = await start();
      await runWithTenant(tenant, async () => {
        await loadStores(search, storeIndex);
        const inside = (point: GeoPoint) => point.lat > 33.5 && point.lat < 34.3 && point.lon > -118.6 && point.lon < -117.5;
        const expected = fixtureStores.filter((store) => inside(store.location)).map((store) => String(store.id));
        expect(expected.length).toBeGreaterThan(3);

        const result = await search.search({ index: storeIndex, geo: { field: "location", polygon: LOS_ANGELES_BOX }, pageSize: 50 });
        expect(result.hits.map((hit) => hit.id).sort(byId)).toEqual(expected.sort(byId));
      });
    });

    it.runIf(declared.geoShapes)("shapesContaining finds delivery zones", async (context) => {
      const { search, tenant, namespace } = await start();
      if (!search.shapesContaining) {
        context.skip(`provider ${options.provider} declares geoShapes but has no shapesContaining`);
        return;
      }
      const index = `${namespace}-zones`;
      await runWithTenant(tenant, async () => {
        await search.ensureIndex({ name: index, fields: { name: "text", area: "geo_shape" } });
        // GeoJSON rings, positions as [lon, lat], first position repeated at the end.
        await search.bulkIndex(index, [
          {
            id: "twin-cities",
            name: "Twin Cities same-day zone",
            area: { type: "Polygon", coordinates: [[[-93.6, 44.7], [-92.9, 44.7], [-92.9, 45.2], [-93.6, 45.2], [-93.6, 44.7]]] },
          },
          {
            id: "los-angeles",
            name: "Los Angeles same-day zone",
            area: { type: "Polygon", coordinates: [[[-118.6, 33.5], [-117.5, 33.5], [-117.5, 34.3], [-118.6, 34.3], [-118.6, 33.5]]] },
          },
        ]);
        await search.refresh(index);

        const bloomington = fixtureStores.find((store) => store.id === 1000)!.location;
        expect((await search.shapesContaining!(index, "area", bloomington)).map((hit) => hit.id)).toEqual(["twin-cities"]);
        expect(await search.shapesContaining!(index, "area", { lat: 41.88, lon: -87.63 })).toEqual([]);
      });
    });
  }, { caseTimeoutMs: options.caseTimeoutMs });
}
