import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CategoryIndex, mapCategories } from "../src/catalog/categories.js";
import { dollarsToMinor, mapProducts, skuFromImageUrl } from "../src/catalog/products.js";
import { readRecords, DEFAULT_SOURCE_FILES } from "../src/catalog/source.js";
import { WAREHOUSES_PER_PRODUCT, mapStores, stockForSku } from "../src/catalog/warehouses.js";

const product = (overrides: Record<string, unknown> = {}) => ({
  name: "Apple - iPhone SE 32GB - Space Gray",
  description: "A small phone &#8212; with a big chip&#8482;",
  brand: "Apple",
  categories: ["Cell Phones", "iPhone", "iPhone SE"],
  price: 349.99,
  image: "https://cdn-demo.algolia.com/bestbuy-0118/5800202_sb.jpg",
  popularity: 1200,
  ...overrides,
});

const tree = mapCategories([
  { id: "abcat0800000", name: "Cell Phones", path: [{ id: "abcat0800000", name: "Cell Phones" }] },
  {
    id: "pcmcat305200050000",
    name: "iPhone",
    path: [
      { id: "abcat0800000", name: "Cell Phones" },
      { id: "pcmcat305200050000", name: "iPhone" },
    ],
  },
  {
    id: "other-cell-phones",
    name: "Cell Phones",
    path: [
      { id: "abcat0100000", name: "TV & Home Theater" },
      { id: "other-cell-phones", name: "Cell Phones" },
    ],
  },
]);
const categoryIndex = new CategoryIndex(tree.categories);

describe("skuFromImageUrl", () => {
  it.each([
    ["https://cdn-demo.algolia.com/bestbuy-0118/4984700_sb.jpg", "4984700"],
    ["https://cdn-demo.algolia.com/bestbuy-0118/8737187_220x260_sb.jpg", "8737187"],
    ["https://cdn-demo.algolia.com/bestbuy-0118/5443800_rb.jpg", "5443800"],
    ["https://example.com/a/4984700.png?size=large", "4984700"],
    ["images/0012345_sb.jpg", "0012345"],
  ])("derives the SKU from %s", (url, sku) => {
    expect(skuFromImageUrl(url)).toBe(sku);
  });

  it.each([
    "https://cdn-demo.algolia.com/bestbuy-0118/placeholder.jpg",
    "https://cdn-demo.algolia.com/bestbuy-0118/sb_4984700.jpg",
    "https://cdn-demo.algolia.com/bestbuy-0118/4984700_sb.txt",
    "https://cdn-demo.algolia.com/bestbuy-0118/",
  ])("returns null for %s", (url) => {
    expect(skuFromImageUrl(url)).toBeNull();
  });
});

describe("dollarsToMinor", () => {
  it("converts dollars to cents without float drift", () => {
    expect(dollarsToMinor(79.99)).toBe(7999);
    expect(dollarsToMinor(1)).toBe(100);
    expect(dollarsToMinor(0.29)).toBe(29);
    expect(dollarsToMinor(899.99)).toBe(89999);
  });

  it("rejects zero, negatives, a third decimal and non-finite values", () => {
    expect(dollarsToMinor(0)).toBeNull();
    expect(dollarsToMinor(-5)).toBeNull();
    expect(dollarsToMinor(1.999)).toBeNull();
    expect(dollarsToMinor(Number.NaN)).toBeNull();
    expect(dollarsToMinor(Number.POSITIVE_INFINITY)).toBeNull();
  });
});

describe("mapProducts", () => {
  it("maps a valid record", () => {
    const { accepted, rejected } = mapProducts([product()], categoryIndex);

    expect(rejected).toEqual([]);
    expect(accepted).toHaveLength(1);
    const row = accepted[0];
    expect(row?.sku).toBe("5800202");
    expect(row?.priceMinor).toBe(34999);
    expect(row?.description).toBe("A small phone \u2014 with a big chip\u2122");
    expect(row?.categories).toEqual(["Cell Phones", "iPhone", "iPhone SE"]);
    // "Cell Phones" exists twice; the one whose child "iPhone" follows wins, and "iPhone SE" is not in the tree.
    expect(row?.categoryIds).toEqual(["abcat0800000", "pcmcat305200050000"]);
    expect(row?.sourceIndex).toBe(0);
  });

  it("rejects each bad record with its index and reason", () => {
    const records: unknown[] = [
      product(),
      product({ image: undefined }),
      product({ image: "https://cdn-demo.algolia.com/bestbuy-0118/no-number.jpg" }),
      product({ image: "https://cdn-demo.algolia.com/bestbuy-0118/1000001_sb.jpg", price: undefined }),
      product({ image: "https://cdn-demo.algolia.com/bestbuy-0118/1000002_sb.jpg", price: "12.99" }),
      product({ image: "https://cdn-demo.algolia.com/bestbuy-0118/1000003_sb.jpg", price: -1 }),
      product({ image: "https://cdn-demo.algolia.com/bestbuy-0118/1000004_sb.jpg", name: "   " }),
      product({ name: "Same SKU as record 0" }),
      "not a record",
      null,
      product({ image: "https://cdn-demo.algolia.com/bestbuy-0118/1000005_sb.jpg", price: 10.5 }),
    ];

    const { accepted, rejected } = mapProducts(records, categoryIndex);

    expect(accepted.map((row) => row.sku)).toEqual(["5800202", "1000005"]);
    expect(rejected.map((item) => [item.index, item.reason])).toEqual([
      [1, "missing-image"],
      [2, "sku-not-in-image"],
      [3, "missing-price"],
      [4, "invalid-price"],
      [5, "invalid-price"],
      [6, "missing-name"],
      [7, "duplicate-sku"],
      [8, "not-an-object"],
      [9, "not-an-object"],
    ]);
    expect(accepted.length + rejected.length).toBe(records.length);
  });

  it("names the first record in a duplicate-sku rejection", () => {
    const { rejected } = mapProducts([product(), product(), product()], categoryIndex);

    expect(rejected).toHaveLength(2);
    expect(rejected[0]?.sku).toBe("5800202");
    expect(rejected[0]?.message).toContain("record 0");
    expect(rejected[1]?.index).toBe(2);
  });

  it("says what a bad price is and what is expected", () => {
    const { rejected } = mapProducts([product({ price: "free" })], categoryIndex);

    expect(rejected[0]?.message).toContain('"free"');
    expect(rejected[0]?.message).toContain("positive number of dollars");
  });

  it("drops optional fields of the wrong type but keeps the record", () => {
    const { accepted } = mapProducts([product({ brand: 42, categories: "Cell Phones", popularity: "high", description: null })], categoryIndex);

    expect(accepted).toHaveLength(1);
    expect(accepted[0]?.brand).toBeUndefined();
    expect(accepted[0]?.categories).toEqual([]);
    expect(accepted[0]?.popularity).toBe(0);
    expect(accepted[0]?.description).toBeUndefined();
  });
});

describe("mapCategories", () => {
  it("adds ancestors that only appear in paths and sets parents", () => {
    const byId = new Map(tree.categories.map((category) => [category.id, category]));

    expect(tree.fromFile).toBe(3);
    expect(tree.derivedFromPaths).toBe(1);
    expect(byId.get("abcat0100000")?.parentId).toBeNull();
    expect(byId.get("other-cell-phones")?.parentId).toBe("abcat0100000");
    expect(byId.get("pcmcat305200050000")?.parentId).toBe("abcat0800000");
  });

  it("gives categories with the same name distinct slugs", () => {
    const slugs = tree.categories.filter((category) => category.name === "Cell Phones").map((category) => category.slug);

    expect(slugs).toEqual(["cell-phones", "cell-phones-other-cell-phones"]);
  });

  it("orders parents before children", () => {
    const position = new Map(tree.categories.map((category, index) => [category.id, index]));
    for (const category of tree.categories) {
      if (category.parentId !== null) expect(position.get(category.parentId)).toBeLessThan(position.get(category.id) ?? -1);
    }
  });

  it("rejects records without id or name and duplicate ids", () => {
    const mapping = mapCategories([{ name: "No id" }, { id: "x1", name: "" }, { id: "x2", name: "Fine" }, { id: "x2", name: "Again" }, 7]);

    expect(mapping.rejected.map((item) => [item.index, item.reason])).toEqual([
      [0, "missing-id"],
      [1, "missing-name"],
      [3, "duplicate-id"],
      [4, "not-an-object"],
    ]);
    expect(mapping.categories.map((category) => category.id)).toEqual(["x2"]);
  });
});

describe("mapStores", () => {
  const store = (overrides: Record<string, unknown> = {}) => ({
    id: 1000,
    type: "BigBox",
    name: "Mall of America",
    address: "340 W Market",
    address2: "",
    city: "Bloomington",
    state: "MN",
    zip: "55425",
    location: { lat: 44.85466, lon: -93.24565 },
    hours: "Mon: 10-9:30",
    services: ["Geek Squad Services"],
    ...overrides,
  });

  it("maps a store to a warehouse with its coordinates", () => {
    const { warehouses, rejected } = mapStores([store()]);

    expect(rejected).toEqual([]);
    expect(warehouses[0]?.id).toBe("store-1000");
    expect(warehouses[0]?.location).toEqual({ lat: 44.85466, lon: -93.24565 });
    expect(warehouses[0]?.address?.city).toBe("Bloomington");
  });

  it("rejects bad locations, missing ids and duplicates", () => {
    const { warehouses, rejected } = mapStores([store(), store(), store({ id: 1001, location: { lat: 123, lon: 0 } }), store({ id: 1002, location: null }), store({ id: undefined })]);

    expect(warehouses).toHaveLength(1);
    expect(rejected.map((item) => [item.index, item.reason])).toEqual([
      [1, "duplicate-id"],
      [2, "invalid-location"],
      [3, "invalid-location"],
      [4, "missing-id"],
    ]);
  });
});

describe("stockForSku", () => {
  const warehouseIds = Array.from({ length: 50 }, (_, i) => `store-${i}`);

  it("returns the same allocation for the same SKU", () => {
    expect(stockForSku("4984700", warehouseIds)).toEqual(stockForSku("4984700", warehouseIds));
  });

  it("uses distinct warehouses and a few per SKU", () => {
    const allocation = stockForSku("5428602", warehouseIds);

    expect(allocation).toHaveLength(WAREHOUSES_PER_PRODUCT);
    expect(new Set(allocation.map((item) => item.warehouseId)).size).toBe(WAREHOUSES_PER_PRODUCT);
  });

  it("varies by SKU and leaves some SKUs out of stock", () => {
    const allocations = Array.from({ length: 200 }, (_, i) => stockForSku(String(4_000_000 + i), warehouseIds));
    const outOfStock = allocations.filter((allocation) => allocation.every((item) => item.onHand === 0)).length;

    expect(new Set(allocations.map((allocation) => JSON.stringify(allocation))).size).toBeGreaterThan(190);
    expect(outOfStock).toBeGreaterThan(0);
    expect(outOfStock).toBeLessThan(60);
  });

  it("returns nothing without warehouses", () => {
    expect(stockForSku("4984700", [])).toEqual([]);
  });
});

describe("readRecords", () => {
  it("rejects a file that is not JSON", async () => {
    const dir = await mkdtemp(join(tmpdir(), "reference-source-"));
    await writeFile(join(dir, "broken.json"), '[{"name": "cut off"');

    await expect(readRecords(join(dir, "broken.json"))).rejects.toThrow(/broken\.json is not valid JSON/);
    await rm(dir, { recursive: true, force: true });
  });

  it("rejects a file without a top-level array", async () => {
    const dir = await mkdtemp(join(tmpdir(), "reference-source-"));
    await writeFile(join(dir, "object.json"), '{"products": []}');

    await expect(readRecords(join(dir, "object.json"))).rejects.toThrow(/must contain a JSON array of records, got object/);
    await rm(dir, { recursive: true, force: true });
  });
});

describe("bundled data", () => {
  it("maps every real product record, accepted or rejected", async () => {
    const [products, categories] = await Promise.all([readRecords(DEFAULT_SOURCE_FILES.products), readRecords(DEFAULT_SOURCE_FILES.categories)]);
    const { accepted, rejected } = mapProducts(products, new CategoryIndex(mapCategories(categories).categories));

    expect(accepted.length + rejected.length).toBe(products.length);
    expect(new Set(accepted.map((row) => row.sku)).size).toBe(accepted.length);
    // Most labels exist in the 2016 Best Buy tree; a few newer ones do not.
    expect(accepted.filter((row) => row.categoryIds.length > 0).length).toBeGreaterThan(accepted.length * 0.9);
  });
});
