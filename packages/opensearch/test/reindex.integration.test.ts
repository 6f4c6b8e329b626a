// Full reindex without downtime: a new concrete index is built and the
// tenant's alias moves to it in one step.
import { randomBytes } from "node:crypto";
import { isBridgeError, runWithTenant, type IndexDefinition } from "@bridge/core";
import { describeWithService } from "@bridge/testkit";
import { afterEach, expect, it } from "vitest";
import { deleteIndexes, rawClient, startIntegration } from "./helpers.js";

const CATALOG: IndexDefinition = { name: "catalog", fields: { title: "text", brand: "keyword" } };
const stops: Array<() => Promise<void>> = [];

async function start(bulkSize = 500) {
  const prefix = `rx${randomBytes(4).toString("hex")}`;
  const started = await startIntegration({ indexPrefix: prefix, bulkSize });
  stops.push(async () => {
    await started.integration.stop({ deadlineMs: 1_000 });
    await deleteIndexes(prefix);
  });
  return { ...started, prefix };
}

async function indexesOf(prefix: string): Promise<string[]> {
  const client = rawClient();
  try {
    const rows = (await client.cat.indices({ index: `${prefix}.*`, format: "json", h: "index" } as never)).body as unknown as Array<{ index: string }>;
    return rows.map((row) => row.index).sort();
  } finally {
    await client.close();
  }
}

const titles = (hits: Array<{ document: unknown }>) => hits.map((hit) => (hit.document as { title: string }).title).sort();

describeWithService("opensearch", "opensearch reindex", () => {
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it("swaps the alias to a new index and deletes the old one", async () => {
    const { search, prefix } = await start(1);
    const oldTitles = ["Old cable", "Old dock"];
    const fresh = Array.from({ length: 20 }, (_, i) => ({ id: String(i), title: `New item ${String(i).padStart(2, "0")}` }));
    const newTitles = fresh.map((document) => document.title).sort();

    await runWithTenant("t", async () => {
      await search.ensureIndex(CATALOG);
      await search.bulkIndex("catalog", [
        { id: "a", title: "Old dock" },
        { id: "b", title: "Old cable" },
      ]);
      await search.refresh("catalog");

      // Searches while the reindex runs see the whole old set or the whole new one, never a mix or nothing.
      let done = false;
      const reindex = search.reindex("catalog", fresh).finally(() => {
        done = true;
      });
      const seen: string[][] = [];
      while (!done) seen.push(titles((await search.search({ index: "catalog", pageSize: 50 })).hits));
      const result = await reindex;

      expect(seen.length).toBeGreaterThan(1);
      expect(seen[0]).toEqual(oldTitles);
      for (const titlesSeen of seen) expect([oldTitles, newTitles]).toContainEqual(titlesSeen);

      expect(result.indexed).toBe(20);
      expect(result.failed).toEqual([]);
      expect(result.index).toBe(`${prefix}.t.catalog.v2`);
      expect(result.previous).toEqual([`${prefix}.t.catalog.v1`]);
      expect(titles((await search.search({ index: "catalog", pageSize: 50 })).hits)).toEqual(newTitles);
      expect(await search.count("catalog")).toBe(20);
    });
    expect(await indexesOf(prefix)).toEqual([`${prefix}.t.catalog.v2`]);
  });

  it("changes the definition", async () => {
    const { search } = await start();
    await runWithTenant("t", async () => {
      await search.ensureIndex(CATALOG);
      await search.index("catalog", { id: "1", title: "Dock", color: "black" });

      const definition: IndexDefinition = { ...CATALOG, fields: { ...CATALOG.fields, color: "keyword" } };
      await search.reindex("catalog", [{ id: "1", title: "Dock", color: "black" }, { id: "2", title: "Cable", color: "white" }], { definition });

      const black = await search.search({ index: "catalog", filters: [{ field: "color", eq: "black" }] });
      expect(black.hits.map((hit) => hit.id)).toEqual(["1"]);
      // ensureIndex with the new definition is now a no-op, and the old one conflicts.
      await search.ensureIndex(definition);
      await expect(search.ensureIndex(CATALOG)).rejects.toMatchObject({ code: "CONFLICT" });
    });
  });

  it("keeps the old index when documents fail", async () => {
    const { search, prefix } = await start();
    await runWithTenant("t", async () => {
      await search.ensureIndex(CATALOG);
      await search.index("catalog", { id: "1", title: "Old dock" });
      await search.refresh("catalog");

      let caught: unknown;
      try {
        await search.reindex("catalog", [{ id: "1", title: "New dock" }, { id: "2", title: 7 as unknown as string }]);
      } catch (error) {
        caught = error;
      }
      expect(isBridgeError(caught, "VALIDATION_FAILED")).toBe(true);
      expect((caught as Error).message).toContain("1 of 2 documents failed");
      expect((caught as Error).message).toContain("old index still serves");
      expect(titles((await search.search({ index: "catalog" })).hits)).toEqual(["Old dock"]);
    });
    expect(await indexesOf(prefix)).toEqual([`${prefix}.t.catalog.v1`]);
  });

  it("swaps despite failures when allowed", async () => {
    const { search } = await start();
    await runWithTenant("t", async () => {
      await search.ensureIndex(CATALOG);
      const result = await search.reindex("catalog", [{ id: "1", title: "New dock" }, { id: "", title: "No id" }], { allowFailures: true });
      expect(result.indexed).toBe(1);
      expect(result.failed.map((failure) => failure.index)).toEqual([1]);
      expect(titles((await search.search({ index: "catalog" })).hits)).toEqual(["New dock"]);
    });
  });

  it("builds a missing index from a definition, and needs one", async () => {
    const { search } = await start();
    await runWithTenant("t", async () => {
      await expect(search.reindex("catalog", [])).rejects.toMatchObject({ code: "NOT_FOUND" });
      const result = await search.reindex("catalog", [{ id: "1", title: "Dock" }], { definition: CATALOG });
      expect(result.previous).toEqual([]);
      expect((await search.search({ index: "catalog", text: "dock" })).total).toBe(1);
      await expect(search.reindex("catalog", [], { definition: { ...CATALOG, name: "other" } })).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
    });
  });
});
