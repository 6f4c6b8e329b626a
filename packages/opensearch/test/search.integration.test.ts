// Provider-specific behaviour of the search role on the local OpenSearch:
// server objects, analysis, dates, missing values, highlighting, bulk
// chunks and errors, and tenants. Each case uses its own index prefix.
import { randomBytes } from "node:crypto";
import { createMemorySearch, isBridgeError, runWithTenant, type IndexDefinition, type SearchDocument, type SearchRole } from "@bridge/core";
import { describeWithService } from "@bridge/testkit";
import { afterEach, expect, it } from "vitest";
import { distinctWords } from "../src/text.js";
import { deleteIndexes, rawClient, startIntegration } from "./helpers.js";

const started: Array<{ prefix: string; stop: () => Promise<void> }> = [];

async function start(options: Parameters<typeof startIntegration>[0] extends infer O ? Omit<O & object, "indexPrefix"> : never = {}) {
  const prefix = `it${randomBytes(4).toString("hex")}`;
  const result = await startIntegration({ ...options, indexPrefix: prefix });
  started.push({ prefix, stop: () => result.integration.stop({ deadlineMs: 1_000 }) });
  return { ...result, prefix };
}

async function expectCode(promise: Promise<unknown>, code: string, fragments: string[] = []): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(isBridgeError(caught, code as never), `expected ${code}, got ${String(caught)}`).toBe(true);
  for (const fragment of fragments) expect((caught as Error).message).toContain(fragment);
  return caught as Error;
}

const ITEMS: IndexDefinition = {
  name: "items",
  fields: { title: "text", body: "text", brand: "keyword", price: "number", in_stock: "boolean", released: "date", location: "geo_point" },
  searchableFields: [{ field: "title", boost: 2 }, "body"],
  autocompleteField: "title",
};

describeWithService("opensearch", "opensearch search role", () => {
  afterEach(async () => {
    for (const { prefix, stop } of started.splice(0)) {
      await stop();
      await deleteIndexes(prefix);
    }
  });

  it("creates an alias over a versioned index", async () => {
    const { search, prefix } = await start();
    await runWithTenant("acme", () => search.ensureIndex(ITEMS));

    const client = rawClient();
    try {
      const aliases = (await client.indices.getAlias({ name: `${prefix}.acme.items` } as never)).body as Record<string, unknown>;
      expect(Object.keys(aliases)).toEqual([`${prefix}.acme.items.v1`]);
      const mapping = (await client.indices.getMapping({ index: `${prefix}.acme.items` } as never)).body as Record<string, { mappings: { _meta: { bridge: { definition: unknown } } } }>;
      expect(mapping[`${prefix}.acme.items.v1`]?.mappings._meta.bridge.definition).toEqual(ITEMS);
    } finally {
      await client.close();
    }
    expect(runWithTenant("acme", () => search.aliasOf("items"))).toBe(`${prefix}.acme.items`);
  });

  it("analyzes text into the same words as the embedded search", async () => {
    const { search, prefix } = await start();
    await runWithTenant("t", () => search.ensureIndex(ITEMS));
    const texts = ["AT&T GoPhone - Samsung Galaxy Express 3 4G LTE", "Apple® iPhone® 7 Plus — Café Crème", "Women's \"Trail\" USB-C 3.5mm: 8½", "ÀÉÌÒÙ Ñandú", "brand:x (a OR b) title:foo~2"];
    const client = rawClient();
    try {
      for (const text of texts) {
        const response = await client.indices.analyze({ index: `${prefix}.t.items`, body: { analyzer: "bridge_text", text } } as never);
        const tokens = (response.body as { tokens: Array<{ token: string }> }).tokens.map((token) => token.token);
        expect([...new Set(tokens)], `tokens of ${JSON.stringify(text)}`).toEqual(distinctWords(text));
      }
    } finally {
      await client.close();
    }
  });

  it("reads the definition back after a restart", async () => {
    const { search, prefix } = await start();
    await runWithTenant("t", async () => {
      await search.ensureIndex(ITEMS);
      await search.index("items", { id: "a", title: "Walnut desk", price: 10 });
      await search.refresh("items");
    });

    const second = await startIntegration({ indexPrefix: prefix });
    try {
      await runWithTenant("t", async () => {
        const result = await second.search.search({ index: "items", text: "walnut", filters: [{ field: "price", lte: 20 }] });
        expect(result.hits.map((hit) => hit.id)).toEqual(["a"]);
      });
    } finally {
      await second.integration.stop({ deadlineMs: 1_000 });
    }
  });

  it("rejects a changed definition and creates one index under concurrent calls", async () => {
    const { search, prefix } = await start();
    await runWithTenant("t", async () => {
      await Promise.all(Array.from({ length: 5 }, () => search.ensureIndex(ITEMS)));
      await expectCode(search.ensureIndex({ ...ITEMS, fields: { ...ITEMS.fields, color: "keyword" } }), "CONFLICT", ['"items"', "dropIndex", "reindex"]);
    });
    const client = rawClient();
    try {
      const rows = (await client.cat.indices({ index: `${prefix}.*`, format: "json", h: "index" } as never)).body as unknown as Array<{ index: string }>;
      expect(rows.map((row) => row.index)).toEqual([`${prefix}.t.items.v1`]);
    } finally {
      await client.close();
    }
  });

  it("rejects invalid definitions like the embedded search", async () => {
    const { search } = await start();
    await runWithTenant("t", async () => {
      await expectCode(search.ensureIndex({ name: "Bad Name", fields: { title: "text" } }), "VALIDATION_FAILED", ["Bad Name"]);
      await expectCode(search.ensureIndex({ name: "x", fields: {} }), "VALIDATION_FAILED", ["fields is empty"]);
      await expectCode(search.ensureIndex({ name: "x", fields: { bridge__date: "keyword" } }), "VALIDATION_FAILED", ["reserved"]);
      await expectCode(search.ensureIndex({ name: "x", fields: { title: "text" }, searchableFields: ["nope"] }), "VALIDATION_FAILED", ["nope"]);
    });
  });

  it("writes only through the alias, never creating an index", async () => {
    const { search, prefix } = await start();
    await runWithTenant("t", async () => {
      await search.ensureIndex(ITEMS);
      // A second process drops the index while this one still has it cached.
      const other = await startIntegration({ indexPrefix: prefix });
      await other.search.dropIndex("items");
      await other.integration.stop({ deadlineMs: 1_000 });

      await expectCode(search.index("items", { id: "a", title: "Desk" }), "NOT_FOUND", ['"items"', "ensureIndex"]);
      await expectCode(search.search({ index: "items" }), "NOT_FOUND", ['"items"']);
    });
    const client = rawClient();
    try {
      const exists = await client.indices.exists({ index: `${prefix}.t.items` } as never);
      expect(exists.body).toBe(false);
    } finally {
      await client.close();
    }
  });

  it("keeps dates as indexed and filters and sorts by them", async () => {
    const { search } = await start();
    await runWithTenant("t", async () => {
      await search.ensureIndex(ITEMS);
      const documents: SearchDocument[] = [
        { id: "iso", title: "a", released: "2024-03-01T00:00:00Z" },
        { id: "short", title: "b", released: "2023-01-15" },
        { id: "epoch", title: "c", released: Date.UTC(2025, 5, 1) },
        { id: "loose", title: "d", released: "March 5, 2024 12:00 UTC" },
        { id: "none", title: "e" },
      ];
      expect((await search.bulkIndex("items", documents)).failed).toEqual([]);
      await search.refresh("items");

      // SearchFilter types range bounds as numbers; date fields also take ISO 8601 strings, as in the embedded search.
      const from = "2024-01-01T00:00:00Z" as unknown as number;
      const to = "2025-01-01T00:00:00Z" as unknown as number;
      const in2024 = await search.search({ index: "items", filters: [{ field: "released", gte: from, lt: to }] });
      expect(in2024.hits.map((hit) => hit.id).sort()).toEqual(["iso", "loose"]);
      const loose = in2024.hits.find((hit) => hit.id === "loose");
      expect(loose?.document.released, "the document comes back as indexed").toBe("March 5, 2024 12:00 UTC");
      expect(loose?.document).not.toHaveProperty("bridge__date");

      const sorted = await search.search({ index: "items", sort: [{ field: "released", order: "desc" }] });
      expect(sorted.hits.map((hit) => hit.id)).toEqual(["epoch", "loose", "iso", "short", "none"]);
    });
  });

  it("walks missing sort values with searchAfter, in the embedded search's order", async () => {
    const { search } = await start();
    const memory = createMemorySearch();
    const documents: SearchDocument[] = [
      { id: "p1", title: "x", price: 5, in_stock: true, brand: "B" },
      { id: "p2", title: "x", in_stock: false },
      { id: "p3", title: "x", price: 1, brand: "A" },
      { id: "p4", title: "x" },
      { id: "p5", title: "x", price: 5, in_stock: true, released: "2024-01-01" },
      { id: "p6", title: "x", price: 5, in_stock: true, brand: "B", released: "2023-01-01" },
    ];

    async function walk(role: SearchRole, order: "asc" | "desc"): Promise<string[]> {
      const query = { index: "items", pageSize: 1, sort: [{ field: "price", order }, { field: "in_stock", order }, { field: "brand", order }, { field: "released", order }] };
      const ids: string[] = [];
      let searchAfter: unknown[] | null | undefined;
      for (let page = 0; page < 10; page++) {
        const result = await role.search(searchAfter ? { ...query, searchAfter } : query);
        ids.push(...result.hits.map((hit) => hit.id));
        searchAfter = result.nextSearchAfter;
        if (searchAfter === null) break;
      }
      return ids;
    }

    await runWithTenant("t", async () => {
      for (const role of [search, memory]) {
        await role.ensureIndex(ITEMS);
        await role.bulkIndex("items", documents);
        await role.refresh("items");
      }
      for (const order of ["asc", "desc"] as const) {
        const expected = await walk(memory, order);
        expect(expected.slice(-2), "documents without a price come last").toEqual(["p2", "p4"]);
        expect(await walk(search, order), `order ${order}`).toEqual(expected);
      }
    });
  });

  it("escapes HTML in highlights and marks every occurrence", async () => {
    const { search } = await start();
    await runWithTenant("t", async () => {
      await search.ensureIndex(ITEMS);
      await search.index("items", { id: "h", title: "<b>Phone</b> & phone case", body: "A phone. Another phone." });
      await search.refresh("items");
      const result = await search.search({ index: "items", text: "phone", highlight: true });
      const highlights = result.hits[0]?.highlights ?? {};
      expect(highlights.title).toEqual(["&lt;b&gt;<em>Phone</em>&lt;&#x2F;b&gt; &amp; <em>phone</em> case"]);
      expect(highlights.body?.join(" ")).toContain("A <em>phone</em>. Another <em>phone</em>.");
    });
  });

  it("reports distance with a radius filter and another sort", async () => {
    const { search } = await start();
    const center = { lat: 44.9778, lon: -93.265 };
    await runWithTenant("t", async () => {
      await search.ensureIndex(ITEMS);
      await search.bulkIndex("items", [
        { id: "near", title: "a", price: 20, location: { lat: 44.98, lon: -93.27 } },
        { id: "mid", title: "b", price: 10, location: { lat: 44.85466, lon: -93.24565 } },
        { id: "far", title: "c", price: 1, location: { lat: 41.88, lon: -87.63 } },
      ]);
      await search.refresh("items");
      const result = await search.search({ index: "items", geo: { field: "location", center, radiusKm: 20 }, sort: [{ field: "price", order: "asc" }] });
      expect(result.hits.map((hit) => hit.id)).toEqual(["mid", "near"]);
      expect(result.hits[0]?.distanceKm).toBeGreaterThan(13);
      expect(result.hits[0]?.distanceKm).toBeLessThan(14.5);
      expect(result.hits[1]?.distanceKm).toBeLessThan(1);
    });
  });

  it("completes on another text field with prefix queries", async () => {
    const { search } = await start();
    await runWithTenant("t", async () => {
      await search.ensureIndex(ITEMS);
      await search.bulkIndex("items", [
        { id: "1", title: "Speaker", body: "Wireless speaker with wire clips" },
        { id: "2", title: "Cable", body: "Wired cable" },
        { id: "3", title: "Dock", body: "Docking station" },
      ]);
      await search.refresh("items");
      expect((await search.autocomplete("items", "wire", { field: "body" })).sort()).toEqual(["Wired cable", "Wireless speaker with wire clips"]);
      expect(await search.autocomplete("items", "spe")).toEqual(["Speaker"]);
      expect(await search.autocomplete("items", "!!!")).toEqual([]);
      await expectCode(search.autocomplete("items", "x", { field: "brand" }), "VALIDATION_FAILED", ['"brand"']);
      await expectCode(search.autocomplete("items", "x", { limit: 0 }), "VALIDATION_FAILED", ["limit"]);
    });
  });

  it("treats query syntax and JSON in text as words", async () => {
    const { search } = await start();
    await runWithTenant("t", async () => {
      await search.ensureIndex(ITEMS);
      await search.bulkIndex("items", [
        { id: "1", title: "Match all", body: "plain" },
        { id: "2", title: "Other", body: "text" },
      ]);
      await search.refresh("items");
      for (const text of ['{"match_all":{}}', '" OR 1=1 --', "*:*", "title:*", "_id:1", "(match) OR (other)"]) {
        // Every word must match, and neither document has "or", "1", "id" or the other words.
        const result = await search.search({ index: "items", text, fuzzy: true });
        expect(result.hits.map((hit) => hit.id), `hits for ${JSON.stringify(text)}`).toEqual([]);
      }
      expect((await search.search({ index: "items", text: "match all" })).hits.map((hit) => hit.id)).toEqual(["1"]);
    });
  });

  it("reports documents the server rejects, and indexes the rest", async () => {
    const { search, lines } = await start({ bulkSize: 3 });
    const products: IndexDefinition = { name: "products", fields: { title: "text", brand: "keyword" } };
    await runWithTenant("t", async () => {
      await search.ensureIndex(products);
      const progress: Array<[number, number]> = [];
      const documents: SearchDocument[] = [
        { id: "ok-1", title: "Dock" },
        // in_stock is mapped by the products kind but not declared, so only the server checks it.
        { id: "bad-stock", title: "Case", in_stock: "maybe" },
        { id: "ok-2", title: "Cable", brand: "Acme" },
        { id: "", title: "No id" },
        { id: "ok-3", title: "Stand", attributes: [{ name: "color", value: "black" }] },
        { id: "bad-brand", title: "Hub", brand: 42 as unknown as string },
        { id: "ok-4", title: "Charger" },
      ];
      const result = await search.bulkIndex("products", documents, { onProgress: (done, total) => progress.push([done, total]) });

      expect(result.indexed).toBe(4);
      expect(result.failed.map((failure) => failure.index)).toEqual([1, 3, 5]);
      expect(result.failed[0]?.message).toContain("in_stock");
      expect(result.failed[0]?.message).toContain("rejected by OpenSearch");
      expect(result.failed[2]?.message).toContain('field "brand" (keyword)');
      // Two chunks are in flight at a time, so a smaller one may finish first; the count only grows.
      expect(progress).toHaveLength(3);
      expect(progress.at(-1)).toEqual([7, 7]);
      const counts = progress.map(([done]) => done);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      expect(lines.some((line) => line.startsWith("info bulk index progress"))).toBe(true);
      expect(lines.some((line) => line.startsWith("warn document not indexed") && line.includes("bad-stock"))).toBe(true);

      await search.refresh("products");
      expect(await search.count("products")).toBe(4);
      await expectCode(search.index("products", { id: "x", title: "Case", in_stock: "maybe" }), "VALIDATION_FAILED", ['"x"', "in_stock"]);
    });
  });

  it("keeps tenants apart, even ids that differ only in case", async () => {
    const { search, prefix } = await start();
    await runWithTenant("Acme", async () => {
      await search.ensureIndex(ITEMS);
      await search.index("items", { id: "shared", title: "Acme upper dock" });
      await search.refresh("items");
    });
    await runWithTenant("acme", async () => {
      await search.ensureIndex(ITEMS);
      await search.index("items", { id: "shared", title: "acme lower dock" });
      await search.refresh("items");

      const result = await search.search({ index: "items", text: "dock" });
      expect(result.hits.map((hit) => hit.document.title)).toEqual(["acme lower dock"]);
      expect(await search.autocomplete("items", "acme u")).toEqual([]);
      expect(await search.delete("items", "shared")).toBe(true);
    });
    await runWithTenant("Acme", async () => {
      expect(await search.count("items")).toBe(1);
      expect((await search.search({ index: "items", text: "upper" })).total).toBe(1);
      expect(search.aliasOf("items")).toBe(`${prefix}.~41cme.items`);
    });
  });

  it("makes writes visible when the call returns, by default", async () => {
    const { search } = await start();
    await runWithTenant("t", async () => {
      await search.ensureIndex(ITEMS);
      await search.index("items", { id: "1", title: "Walnut desk" });
      expect((await search.search({ index: "items", text: "walnut" })).total).toBe(1);
      await search.bulkIndex("items", [{ id: "2", title: "Walnut shelf" }, { id: "3", title: "Oak shelf" }]);
      expect((await search.search({ index: "items", text: "walnut" })).total).toBe(2);
      await search.delete("items", "1");
      expect((await search.search({ index: "items", text: "walnut" })).total).toBe(1);
    });
  });

  it("leaves visibility to refresh() with writeRefresh false", async () => {
    // No periodic refresh either, so nothing becomes visible by chance during the case.
    const { search } = await start({ writeRefresh: false, refreshInterval: "-1" });
    await runWithTenant("t", async () => {
      await search.ensureIndex(ITEMS);
      await search.bulkIndex("items", [{ id: "1", title: "Walnut desk" }]);
      await search.index("items", { id: "2", title: "Walnut shelf" });
      expect((await search.search({ index: "items", text: "walnut" })).total).toBe(0);
      await search.refresh("items");
      expect((await search.search({ index: "items", text: "walnut" })).total).toBe(2);
    });
  });

  it("waits for the periodic refresh with writeRefresh wait_for", async () => {
    const { search } = await start({ writeRefresh: "wait_for", refreshInterval: "200ms" });
    await runWithTenant("t", async () => {
      await search.ensureIndex(ITEMS);
      await search.bulkIndex("items", [{ id: "1", title: "Walnut desk" }]);
      await search.index("items", { id: "2", title: "Walnut shelf" });
      expect((await search.search({ index: "items", text: "walnut" })).total).toBe(2);
    });
  });

  it("tells how to page past the result window", async () => {
    const { search } = await start();
    await runWithTenant("t", async () => {
      await search.ensureIndex(ITEMS);
      await expectCode(search.search({ index: "items", page: 200, pageSize: 100 }), "VALIDATION_FAILED", ["searchAfter", "max_result_window"]);
    });
  });

  it("deletes by id and reports missing ids", async () => {
    const { search } = await start();
    await runWithTenant("t", async () => {
      await search.ensureIndex(ITEMS);
      await search.index("items", { id: "a/b?c", title: "Odd id" });
      expect(await search.delete("items", "a/b?c")).toBe(true);
      expect(await search.delete("items", "a/b?c")).toBe(false);
      expect(await search.delete("items", "")).toBe(false);
      await expectCode(search.delete("missing", "x"), "NOT_FOUND", ['"missing"']);
    });
  });
});
