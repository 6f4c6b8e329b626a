import { beforeEach, describe, expect, it } from "vitest";
import { createMemoryData } from "../../src/embedded/data/index.js";
import { DuplicateKeyError, InvalidFilterError, ValidationError, VersionConflictError } from "../../src/errors.js";
import type { DataRole } from "../../src/roles/data/index.js";

let data: DataRole;

beforeEach(() => {
  data = createMemoryData();
});

describe("products", () => {
  it("rejects a duplicate SKU or slug", async () => {
    await data.datastore.products.create({ sku: "TV-65", title: "Sony TV", slug: "sony-tv" });
    const duplicateSku = data.datastore.products.create({ sku: "TV-65", title: "Other" });
    await expect(duplicateSku).rejects.toBeInstanceOf(DuplicateKeyError);
    await expect(duplicateSku).rejects.toThrow('Product sku "TV-65" is already used');
    await expect(data.datastore.products.create({ sku: "TV-55", title: "Other", slug: "sony-tv" })).rejects.toThrow(/slug "sony-tv"/);
    expect(await data.datastore.products.count()).toBe(1);
  });

  it("generates slugs and appends the SKU on a clash", async () => {
    const first = await data.datastore.products.create({ sku: "TV-65", title: "Sony BRAVIA" });
    const second = await data.datastore.products.create({ sku: "TV-55", title: "Sony BRAVIA" });
    expect(first.slug).toBe("sony-bravia");
    expect(second.slug).toBe("sony-bravia-tv-55");
    expect((await data.datastore.products.getBySlug("sony-bravia-tv-55"))?.sku).toBe("TV-55");
  });

  it("updates with optimistic concurrency", async () => {
    const product = await data.datastore.products.create({ sku: "TV-65", title: "Sony" });
    const updated = await data.datastore.products.update(product.id, { title: "Sony BRAVIA", price: { amountMinor: 99_999, currency: "USD" } }, { expectedVersion: 1 });
    expect(updated.version).toBe(2);
    expect(updated.slug).toBe("sony");
    await expect(data.datastore.products.update(product.id, { title: "Late" }, { expectedVersion: 1 })).rejects.toBeInstanceOf(VersionConflictError);
    await expect(data.datastore.products.update(product.id, { price: { amountMinor: 9.99, currency: "USD" } })).rejects.toBeInstanceOf(ValidationError);
  });

  it("moves the unique SKU index on update", async () => {
    const product = await data.datastore.products.create({ sku: "OLD-1", title: "Thing" });
    await data.datastore.products.update(product.id, { sku: "NEW-1" });
    expect(await data.datastore.products.getBySku("OLD-1")).toBeNull();
    expect((await data.datastore.products.getBySku("NEW-1"))?.id).toBe(product.id);
    await data.datastore.products.create({ sku: "OLD-1", title: "Another" });
    await expect(data.datastore.products.update(product.id, { sku: "OLD-1" })).rejects.toBeInstanceOf(DuplicateKeyError);
  });

  it("lists every product once across pages", async () => {
    for (let i = 0; i < 37; i++) {
      await data.datastore.products.create({ sku: `SKU-${i}`, title: `Product ${i}`, brand: i % 2 ? "Sony" : "LG", categoryIds: ["tv"] });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<DataRole["datastore"]["products"]["list"]>> = await data.datastore.products.list({ limit: 10, cursor });
      seen.push(...page.items.map((product) => product.sku));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(37);
    expect(new Set(seen).size).toBe(37);

    const sony = await data.datastore.products.list({ filter: { brand: "Sony" }, limit: 100 });
    expect(sony.items).toHaveLength(18);
    expect(sony.items.every((product) => product.brand === "Sony")).toBe(true);
    expect((await data.datastore.products.list({ filter: { categoryIds: "tv" }, limit: 1000 })).items).toHaveLength(37);
    expect((await data.datastore.products.listByCategory("tv", { limit: 1000 })).items).toHaveLength(37);
    expect((await data.datastore.products.listByCategory("radio")).items).toHaveLength(0);
  });

  it("rejects filter injection", async () => {
    await data.datastore.products.create({ sku: "TV-65", title: "Sony" });
    await expect(data.datastore.products.list({ filter: { brand: { $ne: null } } as never })).rejects.toBeInstanceOf(InvalidFilterError);
    await expect(data.datastore.products.list({ filter: { $where: "sleep(1000)" } as never })).rejects.toBeInstanceOf(InvalidFilterError);
    await expect(data.datastore.products.list({ filter: { attributes: "x" } as never })).rejects.toThrow(/cannot be filtered on/);
    await expect(data.datastore.products.getBySku({ $gt: "" } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(data.datastore.products.list({ cursor: "eyJ2IjoxfQ" })).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
  });

  it("bulk upserts and reports bad rows", async () => {
    await data.datastore.products.create({ sku: "TV-65", title: "Sony", slug: "sony-65" });
    const result = await data.datastore.products.bulkUpsert([
      { sku: "TV-65", title: "Sony 65" },
      { sku: "TV-55", title: "Sony 55" },
      { sku: "bad sku", title: "Broken" },
      { sku: "TV-43", title: "Sony 43", slug: "sony-65" },
    ]);
    expect(result.inserted).toBe(1);
    expect(result.updated).toBe(1);
    expect(result.failed.map((row) => [row.index, row.key, row.code])).toEqual([
      [2, "bad sku", "VALIDATION_FAILED"],
      [3, "TV-43", "DUPLICATE_KEY"],
    ]);
    const updated = await data.datastore.products.getBySku("TV-65");
    expect(updated?.title).toBe("Sony 65");
    expect(updated?.slug).toBe("sony-65");
    expect(updated?.version).toBe(2);

    const again = await data.datastore.products.bulkUpsert([{ sku: "TV-65", title: "Sony 65" }]);
    expect(again.updated).toBe(1);
    expect((await data.datastore.products.getBySku("TV-65"))?.version).toBe(2);
  });

  it("returns copies and deletes", async () => {
    const product = await data.datastore.products.create({ sku: "TV-65", title: "Sony", attributes: { size: 65 } });
    product.attributes.size = 1;
    expect((await data.datastore.products.get(product.id))?.attributes.size).toBe(65);
    expect(await data.datastore.products.delete(product.id)).toBe(true);
    expect(await data.datastore.products.delete(product.id)).toBe(false);
    expect(await data.datastore.products.getBySku("TV-65")).toBeNull();
  });
});

describe("categories and brands", () => {
  const root = { id: "abcat0100000", name: "TV & Home Theater", parentId: null, path: [{ id: "abcat0100000", name: "TV & Home Theater" }] };
  const child = (id: string, name: string) => ({ id, name, parentId: root.id, path: [...root.path, { id, name }] });

  it("builds a tree with unique slugs", async () => {
    const result = await data.datastore.categories.bulkUpsert([root, child("c-acc-1", "Accessories"), child("c-acc-2", "Accessories"), child("c-tv", "TVs")]);
    expect(result).toEqual({ inserted: 4, updated: 0, failed: [] });
    expect((await data.datastore.categories.get(root.id))?.slug).toBe("tv-and-home-theater");
    expect((await data.datastore.categories.get("c-acc-2"))?.slug).toBe("accessories-c-acc-2");
    expect((await data.datastore.categories.children(root.id)).map((category) => category.id)).toEqual(["c-acc-1", "c-acc-2", "c-tv"]);
    expect((await data.datastore.categories.children(null)).map((category) => category.id)).toEqual([root.id]);
    expect(await data.datastore.categories.count()).toBe(4);
  });

  it("keeps slug and version on an unchanged upsert", async () => {
    await data.datastore.categories.upsert(root);
    const again = await data.datastore.categories.upsert(root);
    expect(again.version).toBe(1);
    const renamed = await data.datastore.categories.upsert({ ...root, name: "TV", path: [{ id: root.id, name: "TV" }] });
    expect(renamed.version).toBe(2);
    expect(renamed.slug).toBe("tv-and-home-theater");
  });

  it("rejects a path that does not end with the category", async () => {
    await expect(data.datastore.categories.upsert({ ...root, path: [] })).rejects.toBeInstanceOf(ValidationError);
    const result = await data.datastore.categories.bulkUpsert([{ ...child("x", "X"), parentId: "other" }]);
    expect(result.failed[0]?.code).toBe("VALIDATION_FAILED");
  });

  it("upserts brands by slug", async () => {
    const sony = await data.datastore.brands.upsert({ name: "Sony" });
    const again = await data.datastore.brands.upsert({ name: "Sony" });
    expect(again.id).toBe(sony.id);
    expect((await data.datastore.brands.getBySlug("sony"))?.name).toBe("Sony");
    await data.datastore.brands.upsert({ id: "lg", name: "LG" });
    await expect(data.datastore.brands.upsert({ id: "lg", name: "LG", slug: "sony" })).rejects.toBeInstanceOf(DuplicateKeyError);
    expect((await data.datastore.brands.list()).items).toHaveLength(2);
  });
});
