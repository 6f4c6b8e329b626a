import type { FieldFilter, NewProduct } from "@bridge/core";
import { expect, it } from "vitest";
import { fixtureProducts, skuOf, type FixtureProduct } from "../../fixtures.js";
import { expectBridgeError } from "../../harness.js";
import { INJECTION_VALUES, uniqueIds, walkPages, type DataCaseContext } from "./context.js";

function toNewProduct(product: FixtureProduct): NewProduct {
  return {
    sku: skuOf(product),
    title: product.name,
    description: product.description,
    brand: product.brand,
    categories: product.categories,
    price: { amountMinor: Math.round(product.price * 100), currency: "USD" },
    imageUrl: product.image,
    popularity: product.popularity,
  };
}

const PRODUCTS = fixtureProducts.slice(0, 25).map(toNewProduct);
const FIRST = PRODUCTS[0]!;

export function registerDatastoreCases({ start }: DataCaseContext): void {
  it("product create and lookups", async () => {
    const { data, asA, tenantA } = await start();
    await asA(async () => {
      const created = await data.datastore.products.create(FIRST);
      expect(created.tenantId).toBe(tenantA);
      expect(created.version).toBe(1);
      expect(created.sku).toBe(FIRST.sku);
      expect(created.price).toEqual(FIRST.price);
      expect(created.slug, "a slug is derived from the title when none is given").toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);

      expect(await data.datastore.products.get(created.id)).toEqual(created);
      expect(await data.datastore.products.getBySku(FIRST.sku)).toEqual(created);
      expect(await data.datastore.products.getBySlug(created.slug)).toEqual(created);
      expect(await data.datastore.products.getBySku("no-such-sku")).toBeNull();
    });
  });

  it("duplicate SKU is rejected", async () => {
    const { data, asA, asB } = await start();
    await asA(async () => {
      const created = await data.datastore.products.create(FIRST);
      await expectBridgeError(data.datastore.products.create({ ...FIRST, title: "Other title" }), "DUPLICATE_KEY", [FIRST.sku]);
      await expectBridgeError(
        data.datastore.products.create({ ...PRODUCTS[1]!, slug: created.slug }),
        "DUPLICATE_KEY",
        [created.slug],
      );
      expect(await data.datastore.products.count()).toBe(1);
    });
    await asB(async () => {
      const other = await data.datastore.products.create(FIRST);
      expect(other.sku, "another tenant may use the same SKU").toBe(FIRST.sku);
    });
  });

  it("product update checks the version", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const created = await data.datastore.products.create(FIRST);
      const second = await data.datastore.products.create(PRODUCTS[1]!);
      const updated = await data.datastore.products.update(created.id, { popularity: 1 }, { expectedVersion: 1 });
      expect(updated.version).toBe(2);
      expect(updated.popularity).toBe(1);

      await expectBridgeError(data.datastore.products.update(created.id, { popularity: 2 }, { expectedVersion: 1 }), "VERSION_CONFLICT");
      await expectBridgeError(data.datastore.products.update(created.id, { sku: second.sku }), "DUPLICATE_KEY", [second.sku]);
      await expectBridgeError(data.datastore.products.update("no-such-product", { popularity: 3 }), "NOT_FOUND");
    });
  });

  it("products page by cursor", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const result = await data.datastore.products.bulkUpsert(PRODUCTS);
      expect(result).toEqual({ inserted: PRODUCTS.length, updated: 0, failed: [] });
      expect(await data.datastore.products.count()).toBe(PRODUCTS.length);

      const items = await walkPages(10, (page) => data.datastore.products.list(page));
      const ids = uniqueIds(items);
      expect(ids).toHaveLength(PRODUCTS.length);
      const sorted = [...ids].sort();
      expect(ids, "list is ordered by id").toEqual(sorted);
      expect(new Set(items.map((item) => item.sku))).toEqual(new Set(PRODUCTS.map((product) => product.sku)));
    });
  });

  it("bulk upsert reports bad rows", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const rows = [PRODUCTS[0]!, { ...PRODUCTS[1]!, sku: "" }, PRODUCTS[2]!, { ...PRODUCTS[3]!, price: { amountMinor: 9.99, currency: "USD" } }];
      const first = await data.datastore.products.bulkUpsert(rows);
      expect(first.inserted).toBe(2);
      expect(first.failed.map((failure) => failure.index)).toEqual([1, 3]);
      for (const failure of first.failed) {
        expect(failure.code).toBe("VALIDATION_FAILED");
        expect(failure.message).toMatch(/\S/);
      }

      const second = await data.datastore.products.bulkUpsert([{ ...PRODUCTS[0]!, popularity: 7 }, PRODUCTS[4]!]);
      expect(second).toEqual({ inserted: 1, updated: 1, failed: [] });
      expect((await data.datastore.products.getBySku(PRODUCTS[0]!.sku))?.popularity).toBe(7);
    });
  });

  it("list filter matches fields", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.datastore.products.bulkUpsert(PRODUCTS);
      const apple = PRODUCTS.filter((product) => product.brand === "Apple");
      expect(apple.length).toBeGreaterThan(0);

      const page = await data.datastore.products.list({ filter: { brand: "Apple" }, limit: 100 });
      expect(page.items.map((item) => item.sku).sort()).toEqual(apple.map((product) => product.sku).sort());
      const either = await data.datastore.products.list({ filter: { brand: ["Apple", "Samsung"] }, limit: 100 });
      expect(either.items).toHaveLength(PRODUCTS.filter((product) => product.brand === "Apple" || product.brand === "Samsung").length);
    });
  });

  it("filter rejects operators", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.datastore.products.bulkUpsert(PRODUCTS);
      for (const { label, value } of INJECTION_VALUES) {
        await expectBridgeError(
          data.datastore.products.list({ filter: { brand: value } as unknown as FieldFilter }),
          "INVALID_FILTER",
          ["brand"],
          `brand ${label}`,
        );
      }
      await expectBridgeError(data.datastore.products.list({ filter: { $where: "this.brand == 'Apple'" } }), "INVALID_FILTER", ["$where"]);
      await expectBridgeError(data.datastore.products.list({ filter: { "price.amountMinor": 100 } }), "INVALID_FILTER");
      await expectBridgeError(data.datastore.products.list({ filter: { brand: "$brand" } }), "INVALID_FILTER", ["$brand"]);
    });
  });

  it("delete removes a product", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const created = await data.datastore.products.create(FIRST);
      expect(await data.datastore.products.delete(created.id)).toBe(true);
      expect(await data.datastore.products.delete(created.id)).toBe(false);
      expect(await data.datastore.products.get(created.id)).toBeNull();
      expect(await data.datastore.products.getBySku(FIRST.sku)).toBeNull();
      // The SKU is free again.
      expect((await data.datastore.products.create(FIRST)).sku).toBe(FIRST.sku);
    });
  });

  it("categories form a tree", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const root = { id: "cat-phones", name: "Cell Phones", parentId: null, path: [{ id: "cat-phones", name: "Cell Phones" }] };
      const child = {
        id: "cat-prepaid",
        name: "Prepaid Phones",
        parentId: "cat-phones",
        path: [...root.path, { id: "cat-prepaid", name: "Prepaid Phones" }],
      };
      await data.datastore.categories.bulkUpsert([root, child]);

      expect((await data.datastore.categories.children(null)).map((category) => category.id)).toEqual(["cat-phones"]);
      expect((await data.datastore.categories.children("cat-phones")).map((category) => category.id)).toEqual(["cat-prepaid"]);
      const stored = await data.datastore.categories.get("cat-prepaid");
      expect(stored?.path.map((entry) => entry.name)).toEqual(["Cell Phones", "Prepaid Phones"]);
      expect((await data.datastore.categories.getBySlug(stored!.slug))?.id).toBe("cat-prepaid");

      const renamed = await data.datastore.categories.upsert({ ...child, name: "Prepaid Cell Phones" });
      expect(renamed.version).toBe(2);
      expect(await data.datastore.categories.count()).toBe(2);
    });
  });

  it("brands upsert and list", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const brand = await data.datastore.brands.upsert({ name: "OtterBox" });
      expect(brand.slug).toBe("otterbox");
      expect(await data.datastore.brands.get(brand.id)).toEqual(brand);
      expect((await data.datastore.brands.getBySlug("otterbox"))?.id).toBe(brand.id);
      await data.datastore.brands.upsert({ name: "Speck" });
      expect((await walkPages(1, (page) => data.datastore.brands.list(page))).map((item) => item.name).sort()).toEqual(["OtterBox", "Speck"]);
    });
  });

  it("tenants are isolated", async () => {
    const { data, asA, asB } = await start();
    const created = await asA(async () => {
      await data.datastore.categories.upsert({ id: "cat-phones", name: "Cell Phones", parentId: null, path: [{ id: "cat-phones", name: "Cell Phones" }] });
      return data.datastore.products.create(FIRST);
    });
    await asB(async () => {
      expect(await data.datastore.products.get(created.id)).toBeNull();
      expect(await data.datastore.products.getBySku(FIRST.sku)).toBeNull();
      expect(await data.datastore.products.getBySlug(created.slug)).toBeNull();
      expect((await data.datastore.products.list()).items).toEqual([]);
      expect(await data.datastore.products.count()).toBe(0);
      expect(await data.datastore.products.delete(created.id)).toBe(false);
      await expectBridgeError(data.datastore.products.update(created.id, { popularity: 0 }), "NOT_FOUND");
      expect(await data.datastore.categories.get("cat-phones")).toBeNull();
      expect(await data.datastore.categories.children(null)).toEqual([]);
    });
    await asA(async () => {
      expect(await data.datastore.products.get(created.id)).toEqual(created);
    });
  });

  it("invalid product is rejected", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await expectBridgeError(data.datastore.products.create({ ...FIRST, sku: "" }), "VALIDATION_FAILED");
      await expectBridgeError(data.datastore.products.create({ ...FIRST, title: "" }), "VALIDATION_FAILED");
      await expectBridgeError(
        data.datastore.products.create({ ...FIRST, price: { amountMinor: 49.99, currency: "USD" } }),
        "VALIDATION_FAILED",
        ["49.99"],
      );
      await expectBridgeError(data.datastore.products.list({ cursor: "not-a-cursor" }), "VALIDATION_FAILED");
      expect(await data.datastore.products.count()).toBe(0);
    });
  });
}
