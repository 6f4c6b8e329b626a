import { join } from "node:path";
import { readOutbox, runWithTenant, type Engagement } from "@bridge/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTRACT_CUSTOMER_ID, CONTRACT_RULE, IMPORT_TASKS, VOLUME_BREAK } from "../src/catalog/jobs.js";
import { CONFIRMATION_TASK } from "../src/orders/confirmation.js";
import { eventually, skuOf, startWithSlice, type TestService } from "./support.js";

let ctx: TestService;

beforeAll(async () => {
  ctx = await startWithSlice(60);
});

afterAll(async () => {
  await ctx?.close();
});

async function call<T>(method: "GET" | "POST", url: string, payload?: unknown): Promise<{ status: number; body: T }> {
  const response = await ctx.service.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  return { status: response.statusCode, body: response.json() as T };
}

interface ProductAnswer {
  product: { sku: string; title: string; price: { amountMinor: number } };
  availability: { available: number; byWarehouse: Array<{ warehouseId: string; available: number }> };
  prices: Array<{ quantity: number; unitAmountMinor: number }>;
}

/** Finds products of the slice that one warehouse can ship `quantity` of. */
async function productsWithStock(quantity: number, count: number): Promise<ProductAnswer[]> {
  const found: ProductAnswer[] = [];
  for (const record of ctx.products) {
    const answer = await call<ProductAnswer>("GET", `/api/products/${skuOf(record)}`);
    if (answer.body.availability.byWarehouse.some((level) => level.available >= quantity)) found.push(answer.body);
    if (found.length === count) return found;
  }
  throw new Error(`only ${found.length} products of the slice have ${quantity} units in one warehouse`);
}

describe("catalog import of a real slice", () => {
  it("accounts for every product record", () => {
    const { products } = ctx.report;

    expect(products.records).toBe(60);
    expect(products.imported + products.rejected.length).toBe(60);
    expect(products.indexed).toBe(products.imported);
  });

  it("imports the category tree and stores", () => {
    const { categories, warehouses } = ctx.report;

    expect(categories.records).toBe(4584);
    expect(categories.imported + categories.rejected.length).toBe(categories.records);
    // One record of the 2016 tree (pcmcat748300293073) has a null name; nothing else may be rejected.
    expect(categories.rejected.map((rejection) => [rejection.index, rejection.reason, rejection.value])).toEqual([[3979, "missing-name", null]]);
    expect(categories.imported).toBe(4583);
    // Parents named only inside other records' paths are counted apart from the file's records.
    expect(categories.derivedFromPaths).toBe(139);
    expect(categories.derivedRejected).toEqual([]);
    expect(warehouses.imported + warehouses.rejected.length).toBe(warehouses.records);
    expect(warehouses.rejected).toEqual([]);
  });

  it("counts and logs rejected categories and warehouses", async () => {
    const tenantId = "rejected-tree-check";
    const categories = [
      { id: "cat-root", name: "Root", path: [{ id: "cat-root", name: "Root" }] },
      { id: "cat-leaf", name: "Leaf", path: [{ id: "cat-root", name: "Root" }, { id: "cat-mid", name: "Only In Path" }, { id: "cat-leaf", name: "Leaf" }] },
      { id: "cat-nameless", name: null },
      { id: "cat-root", name: "Root again" },
    ];
    const stores = [
      { id: 9001, name: "Store A", location: { lat: 44.9, lon: -93.2 } },
      { id: 9002, name: "Store B", location: { lat: 95, lon: 0 } },
      { id: 9001, name: "Store A again", location: { lat: 44.9, lon: -93.2 } },
    ];

    const report = await runWithTenant(tenantId, () => ctx.service.importCatalog({ records: { products: [], categories, stores } }));

    expect(report.categories.imported).toBe(2);
    expect(report.categories.derivedFromPaths).toBe(1);
    expect(report.categories.rejected.map((rejection) => [rejection.index, rejection.reason])).toEqual([
      [2, "missing-name"],
      [3, "duplicate-id"],
    ]);
    expect(report.warehouses.imported).toBe(1);
    expect(report.warehouses.rejected.map((rejection) => [rejection.index, rejection.reason])).toEqual([
      [1, "invalid-location"],
      [2, "duplicate-id"],
    ]);

    await ctx.service.bridge.logs.flush();
    const logged = async (text: string) =>
      (await ctx.service.bridge.logs.query({ text, tenantId, limit: 50 })).map((entry) => [entry.fields?.index, entry.fields?.reason]).sort();
    expect(await logged("category record rejected")).toEqual([
      [2, "missing-name"],
      [3, "duplicate-id"],
    ]);
    expect(await logged("warehouse record rejected")).toEqual([
      [1, "invalid-location"],
      [2, "duplicate-id"],
    ]);
  });

  it("stores products with price and categories", async () => {
    const record = ctx.products[0] as Record<string, unknown>;

    const answer = await call<ProductAnswer & { product: { categoryIds: string[]; brand: string } }>("GET", `/api/products/${skuOf(record)}`);

    expect(answer.status).toBe(200);
    expect(answer.body.product.title).toBe(record.name);
    expect(answer.body.product.brand).toBe(record.brand);
    expect(answer.body.product.price.amountMinor).toBe(Math.round((record.price as number) * 100));
    expect(answer.body.product.categoryIds.length).toBeGreaterThan(0);
  });

  it("writes the list price and the volume break", async () => {
    const record = ctx.products[0] as Record<string, unknown>;
    const listMinor = Math.round((record.price as number) * 100);

    const answer = await call<ProductAnswer>("GET", `/api/products/${skuOf(record)}`);

    expect(answer.body.prices).toEqual([
      { quantity: 1, unitAmountMinor: listMinor, currency: "USD" },
      { quantity: VOLUME_BREAK.minQuantity, unitAmountMinor: Math.round((listMinor * (100 - VOLUME_BREAK.percentOff)) / 100), currency: "USD" },
    ]);
  });

  it("reports rows the datastore rejects", async () => {
    const base = ctx.products[0] as Record<string, unknown>;
    const records = [
      { ...base, image: "https://cdn.example.com/7000001_sb.jpg" },
      { ...base, image: "https://cdn.example.com/7000002_sb.jpg", name: "x".repeat(600) },
      { ...base, image: "relative/7000003_sb.jpg" },
      { ...base, image: "https://cdn.example.com/7000001_sb.jpg" },
      { ...base, image: "https://cdn.example.com/7000004_sb.jpg", price: null },
    ];

    const report = await runWithTenant("rejections-check", () =>
      ctx.service.importCatalog({ records: { products: records, categories: [], stores: [] } }),
    );

    expect(report.products.imported).toBe(1);
    expect(report.products.rejected.map((rejection) => [rejection.index, rejection.reason])).toEqual([
      [1, "datastore-rejected"],
      [2, "datastore-rejected"],
      [3, "duplicate-sku"],
      [4, "missing-price"],
    ]);
    expect(report.products.rejected[0]?.message).toContain("7000002");
    const inDefaultTenant = await call<{ total: number }>("GET", "/api/products/search?q=xxxx");
    expect(inDefaultTenant.body.total).toBe(0);
  });

  it("imports the same slice again without duplicates", async () => {
    // A tenant of its own, so the second import does not touch the index the other tests search.
    const slice = { products: ctx.products.slice(0, 20), stores: [] };
    const search = () => ctx.service.app.inject({ method: "GET", url: "/api/products/search", headers: { "x-tenant-id": "reimport-check" } });

    const first = await runWithTenant("reimport-check", () => ctx.service.importCatalog({ records: slice }));
    const second = await runWithTenant("reimport-check", () => ctx.service.importCatalog({ records: slice }));

    expect(second.products.imported).toBe(first.products.imported);
    expect(await runWithTenant("reimport-check", () => ctx.service.bridge.data.datastore.products.count())).toBe(first.products.imported);
    expect((await search()).json().total).toBe(first.products.imported);
    const priced = await ctx.service.app.inject({
      method: "GET",
      url: "/api/products/search?minPrice=0&maxPrice=100000",
      headers: { "x-tenant-id": "reimport-check" },
    });
    expect(priced.json().total).toBe(first.products.imported);
  });

  it("reports ready after the import", async () => {
    const ready = await call<{ ready: boolean; catalog: { state: string } }>("GET", "/readyz");
    const live = await call<{ status: string }>("GET", "/healthz");

    expect(ready.status).toBe(200);
    expect(ready.body.catalog.state).toBe("ready");
    expect(live.status).toBe(200);
  });

  it("leaves no dead letters", async () => {
    for (const task of Object.values(IMPORT_TASKS)) {
      expect(await ctx.service.bridge.queue.listDeadLetters(task)).toEqual([]);
    }
  });
});

describe("search and warehouses", () => {
  it("finds products by text with brand facets", async () => {
    const brand = String((ctx.products[0] as Record<string, unknown>).brand);

    const answer = await call<{ total: number; hits: Array<{ brand: string }>; facets: { brand: Array<{ value: string; count: number }> } }>(
      "GET",
      `/api/products/search?q=${encodeURIComponent(brand)}`,
    );

    expect(answer.status).toBe(200);
    expect(answer.body.total).toBeGreaterThan(0);
    expect(answer.body.facets.brand.map((facet) => facet.value)).toContain(brand);
  });

  it("filters by brand and price range in dollars", async () => {
    const brand = String((ctx.products[0] as Record<string, unknown>).brand);

    const answer = await call<{ total: number; hits: Array<{ brand: string; price: { amountMinor: number } }> }>(
      "GET",
      `/api/products/search?brand=${encodeURIComponent(brand)}&minPrice=20&maxPrice=80.5&pageSize=100`,
    );
    const expected = ctx.products.filter((record) => record.brand === brand && (record.price as number) >= 20 && (record.price as number) <= 80.5);

    expect(answer.body.total).toBe(expected.length);
    for (const hit of answer.body.hits) {
      expect(hit.brand).toBe(brand);
      expect(hit.price.amountMinor).toBeGreaterThanOrEqual(2000);
      expect(hit.price.amountMinor).toBeLessThanOrEqual(8050);
    }
  });

  it("filters brand and category regardless of case", async () => {
    const record = ctx.products[0] as Record<string, unknown>;
    const brand = String(record.brand);
    const category = String((record.categories as string[]).at(-1));
    type Answer = { total: number; query: { brand: string | null; category: string | null } };
    const search = async (query: string) => (await call<Answer>("GET", `/api/products/search?${query}`)).body;

    const exactBrand = await search(`brand=${encodeURIComponent(brand)}`);
    const exactCategory = await search(`category=${encodeURIComponent(category)}`);

    expect(exactBrand.total).toBeGreaterThan(0);
    expect(exactCategory.total).toBeGreaterThan(0);
    for (const spelling of [brand.toLowerCase(), brand.toUpperCase(), ` ${brand.toLowerCase()} `]) {
      const answer = await search(`brand=${encodeURIComponent(spelling)}`);
      expect(answer.total, spelling).toBe(exactBrand.total);
      expect(answer.query.brand, spelling).toBe(brand);
    }
    const lowerCategory = await search(`category=${encodeURIComponent(category.toLowerCase())}`);
    expect(lowerCategory.total).toBe(exactCategory.total);
    expect(lowerCategory.query.category).toBe(category);
    const both = await search(`brand=${encodeURIComponent(brand.toUpperCase())}&category=${encodeURIComponent(category.toUpperCase())}`);
    expect(both.total).toBe((await search(`brand=${encodeURIComponent(brand)}&category=${encodeURIComponent(category)}`)).total);
  });

  it("merges brand spellings that differ in case", async () => {
    const tenantId = "brand-case-check";
    const base = ctx.products[0] as Record<string, unknown>;
    const products = [
      { ...base, image: "https://cdn.example.com/7100001_sb.jpg", brand: "OtterBox" },
      { ...base, image: "https://cdn.example.com/7100002_sb.jpg", brand: "OtterBox" },
      { ...base, image: "https://cdn.example.com/7100003_sb.jpg", brand: "Otterbox" },
      { ...base, image: "https://cdn.example.com/7100004_sb.jpg", brand: "Belkin" },
    ];
    await runWithTenant(tenantId, () => ctx.service.importCatalog({ records: { products, categories: [], stores: [] } }));
    type Answer = { total: number; query: { brand: string | null }; facets: { brand: Array<{ value: string; count: number }> } };
    const search = async (query: string) =>
      (await ctx.service.app.inject({ method: "GET", url: `/api/products/search?${query}`, headers: { "x-tenant-id": tenantId } })).json() as Answer;

    const all = await search("");
    const lower = await search("brand=otterbox");
    const minority = await search("brand=Otterbox");
    const unknown = await search("brand=otter");

    expect(all.facets.brand).toEqual([
      { value: "OtterBox", count: 3 },
      { value: "Belkin", count: 1 },
    ]);
    expect(lower.total).toBe(3);
    expect(lower.query.brand).toBe("OtterBox");
    expect(lower.facets.brand).toEqual([{ value: "OtterBox", count: 3 }]);
    expect(minority.total).toBe(3);
    expect(unknown.total).toBe(0);
    expect(unknown.query.brand).toBe("otter");
  });

  it("pages results", async () => {
    const first = await call<{ hits: Array<{ sku: string }> }>("GET", "/api/products/search?pageSize=5&page=1");
    const second = await call<{ hits: Array<{ sku: string }> }>("GET", "/api/products/search?pageSize=5&page=2");

    expect(first.body.hits).toHaveLength(5);
    expect(second.body.hits).toHaveLength(5);
    expect(second.body.hits.map((hit) => hit.sku)).not.toContain(first.body.hits[0]?.sku);
  });

  it("suggests titles for a prefix", async () => {
    const answer = await call<{ suggestions: string[] }>("GET", "/api/products/autocomplete?prefix=sam");

    expect(answer.status).toBe(200);
    expect(answer.body.suggestions.length).toBeGreaterThan(0);
  });

  it("finds Minneapolis stores nearest first", async () => {
    const answer = await call<{ warehouses: Array<{ id: string; city: string; distanceKm: number }> }>(
      "GET",
      "/api/warehouses/near?lat=44.9778&lon=-93.2650&radiusKm=25",
    );

    expect(answer.status).toBe(200);
    expect(answer.body.warehouses.length).toBeGreaterThan(3);
    const distances = answer.body.warehouses.map((warehouse) => warehouse.distanceKm);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
    expect(Math.max(...distances)).toBeLessThanOrEqual(25);
    // Store 1000, Mall of America in Bloomington, is about 14 km from downtown Minneapolis.
    expect(answer.body.warehouses.map((warehouse) => warehouse.id)).toContain("store-1000");
  });
});

describe("quote to order", () => {
  it("prices, reserves, confirms and emails once", async () => {
    const [bulk, single] = await productsWithStock(VOLUME_BREAK.minQuantity, 2);
    if (bulk === undefined || single === undefined) throw new Error("two products are needed");
    const availableBefore = bulk.availability.available;

    const created = await call<Engagement>("POST", "/api/quotes", { customerId: CONTRACT_CUSTOMER_ID, email: "buyer@northwind.example.com" });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe("draft");
    const id = created.body.id;

    await call("POST", `/api/quotes/${id}/lines`, { sku: bulk.product.sku, quantity: 4 });
    await call("POST", `/api/quotes/${id}/lines`, { sku: bulk.product.sku, quantity: VOLUME_BREAK.minQuantity - 4 });
    const withLines = await call<Engagement>("POST", `/api/quotes/${id}/lines`, { sku: single.product.sku, quantity: 1 });
    expect(withLines.body.lineItems.map((line) => [line.sku, line.quantity])).toEqual([
      [bulk.product.sku, VOLUME_BREAK.minQuantity],
      [single.product.sku, 1],
    ]);

    const priced = await call<Engagement>("POST", `/api/quotes/${id}/price`);
    expect(priced.status).toBe(200);
    expect(priced.body.status).toBe("active");
    // Lines carry the price-list price for their quantity: the volume break for the bulk line, the list price for the single unit.
    const volumeUnit = Math.round((bulk.product.price.amountMinor * (100 - VOLUME_BREAK.percentOff)) / 100);
    const [bulkLine, singleLine] = priced.body.lineItems;
    expect(bulkLine?.unitPrice?.amountMinor).toBe(volumeUnit);
    expect(bulkLine?.total?.amountMinor).toBe(volumeUnit * VOLUME_BREAK.minQuantity);
    expect(singleLine?.unitPrice?.amountMinor).toBe(single.product.price.amountMinor);
    expect(singleLine?.total?.amountMinor).toBe(single.product.price.amountMinor);

    // The contract rule is the only discount, shown once on the quote, and the numbers add up.
    const pricing = priced.body.pricing;
    if (pricing === null) throw new Error("the priced quote has no pricing");
    const lineTotals = (bulkLine?.total?.amountMinor ?? 0) + (singleLine?.total?.amountMinor ?? 0);
    expect(pricing.subtotalMinor).toBe(lineTotals);
    expect(pricing.totalMinor).toBe(pricing.subtotalMinor - pricing.discountMinor + pricing.taxMinor);
    // The rule rounds each unit price to the cent, so the discount may differ from 3% of the subtotal by half a cent per unit.
    const units = VOLUME_BREAK.minQuantity + 1;
    const contractShare = CONTRACT_RULE.percentOffBasisPoints / 10_000;
    expect(pricing.discountMinor).toBeGreaterThan(0);
    expect(Math.abs(pricing.discountMinor - pricing.subtotalMinor * contractShare)).toBeLessThanOrEqual(units / 2);

    const submitted = await call<Engagement>("POST", `/api/quotes/${id}/submit`);
    expect(submitted.status).toBe(200);
    expect(submitted.body.status).toBe("processing");
    expect(submitted.body.fulfillment?.reservationId).toBeTruthy();
    const reserved = await call<ProductAnswer>("GET", `/api/products/${bulk.product.sku}`);
    expect(reserved.body.availability.available).toBe(availableBefore - VOLUME_BREAK.minQuantity);

    const confirmed = await call<Engagement>("POST", `/api/quotes/${id}/confirm`);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.status).toBe("confirmed");
    expect(confirmed.body.attributes.orderNumber).toMatch(/^SO-/);

    const emailDir = join(ctx.outboxDir, "email");
    await eventually(async () => (await readOutbox(emailDir)).length > 0, "the confirmation email");
    const [email] = await readOutbox(emailDir);
    expect(email?.kind).toBe("email");
    if (email?.kind !== "email") return;
    expect(email.to).toEqual(["buyer@northwind.example.com"]);
    expect(email.subject).toContain(String(confirmed.body.attributes.orderNumber));
    expect(email.text).toContain(bulk.product.sku);
    const amounts = emailAmounts(email.text ?? "");
    expect(amounts.lines).toEqual([volumeUnit * VOLUME_BREAK.minQuantity, single.product.price.amountMinor]);
    expect(amounts.subtotal).toBe(amounts.lines.reduce((sum, amount) => sum + amount, 0));
    expect(amounts.discount).toBe(pricing.discountMinor);
    expect(amounts.total).toBe(amounts.subtotal - amounts.discount + amounts.tax);
    expect(amounts.total).toBe(confirmed.body.pricing?.totalMinor);

    // The job delivered again (a retry after a crash) finds the email's idempotency key and sends nothing.
    await runWithTenant("default", () => ctx.service.bridge.queue.publish(CONFIRMATION_TASK, { engagementId: id }));
    await eventually(async () => {
      const stats = await ctx.service.bridge.queue.stats(CONFIRMATION_TASK);
      return stats.depth === 0 && stats.inFlight === 0;
    }, "the repeated confirmation job");
    expect(await readOutbox(emailDir)).toHaveLength(1);
    expect(await ctx.service.bridge.queue.listDeadLetters(CONFIRMATION_TASK)).toEqual([]);

    const committed = await call<ProductAnswer>("GET", `/api/products/${bulk.product.sku}`);
    expect(committed.body.availability.available).toBe(availableBefore - VOLUME_BREAK.minQuantity);
    const stored = await call<Engagement>("GET", `/api/quotes/${id}`);
    expect(stored.body.status).toBe("confirmed");
  });
});

/** Reads the amounts of a confirmation email in minor units; the discount comes back positive. */
function emailAmounts(text: string): { lines: number[]; subtotal: number; discount: number; tax: number; total: number } {
  const minor = (amount: string) => Math.round(Number(amount) * 100);
  const field = (label: string) => {
    const match = new RegExp(`^${label}: USD (-?[\\d.]+)$`, "m").exec(text);
    if (match?.[1] === undefined) throw new Error(`the email has no ${label} line:\n${text}`);
    return minor(match[1]);
  };
  const lines = [...text.matchAll(/^- .* each: USD ([\d.]+)$/gm)].map((match) => minor(match[1] ?? "NaN"));
  return { lines, subtotal: field("Subtotal"), discount: -field("Discount"), tax: field("Tax"), total: field("Total") };
}
