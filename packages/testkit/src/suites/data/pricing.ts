import type { NewPriceList } from "@bridge/core";
import { expect, it } from "vitest";
import { expectBridgeError } from "../../harness.js";
import type { DataCaseContext } from "./context.js";

const SKU = "4984700";

const RETAIL: NewPriceList = {
  name: "Retail USD",
  currency: "USD",
  prices: [
    { sku: SKU, unitAmountMinor: 1_000 },
    { sku: SKU, unitAmountMinor: 900, minQuantity: 10 },
    { sku: "5577301", unitAmountMinor: 2_499 },
  ],
};

export function registerPricingCases({ start }: DataCaseContext): void {
  it("price comes from the list", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const list = await data.pricing.upsertPriceList(RETAIL);
      expect(list.version).toBe(1);
      expect(list.priority, "priority defaults to a number").toEqual(expect.any(Number));

      const single = await data.pricing.price({ sku: SKU, quantity: 2 });
      expect(single).toMatchObject({ sku: SKU, quantity: 2, currency: "USD", unitAmountMinor: 1_000, totalMinor: 2_000, priceListId: list.id });
      const volume = await data.pricing.price({ sku: SKU, quantity: 10 });
      expect(volume).toMatchObject({ unitAmountMinor: 900, totalMinor: 9_000 });
      expect(await data.pricing.getPriceList(list.id)).toEqual(list);
    });
  });

  it("higher priority list wins", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.pricing.upsertPriceList({ ...RETAIL, priority: 1 });
      const promotion = await data.pricing.upsertPriceList({ name: "Spring promotion", currency: "USD", priority: 10, prices: [{ sku: SKU, unitAmountMinor: 800 }] });
      const quote = await data.pricing.price({ sku: SKU, quantity: 1 });
      expect(quote.unitAmountMinor).toBe(800);
      expect(quote.priceListId).toBe(promotion.id);
    });
  });

  it("customer list applies to its customers", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.pricing.upsertPriceList({ ...RETAIL, priority: 1 });
      await data.pricing.upsertPriceList({
        name: "Contract customer-1",
        currency: "USD",
        priority: 20,
        customerIds: ["customer-1"],
        prices: [{ sku: SKU, unitAmountMinor: 700 }],
      });
      expect((await data.pricing.price({ sku: SKU, quantity: 1, customerId: "customer-1" })).unitAmountMinor).toBe(700);
      expect((await data.pricing.price({ sku: SKU, quantity: 1, customerId: "customer-2" })).unitAmountMinor).toBe(1_000);
      expect((await data.pricing.price({ sku: SKU, quantity: 1 })).unitAmountMinor).toBe(1_000);
    });
  });

  it("list outside its dates is ignored", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.pricing.upsertPriceList({ ...RETAIL, validFrom: "2020-01-01T00:00:00.000Z", validTo: "2020-12-31T23:59:59.000Z" });
      await expectBridgeError(data.pricing.price({ sku: SKU, quantity: 1 }), "NO_PRICE", [SKU]);
      const inWindow = await data.pricing.price({ sku: SKU, quantity: 1, at: "2020-06-01T00:00:00.000Z" });
      expect(inWindow.unitAmountMinor).toBe(1_000);
    });
  });

  it("percent rule lowers the price", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.pricing.upsertPriceList(RETAIL);
      const rule = await data.pricing.upsertRule({ name: "10% off phones", kind: "percent_off", value: 1_000, sku: SKU });
      const quote = await data.pricing.price({ sku: SKU, quantity: 3 });
      expect(quote).toMatchObject({ baseUnitAmountMinor: 1_000, unitAmountMinor: 900, totalMinor: 2_700 });
      expect(quote.appliedRuleIds).toEqual([rule.id]);
      expect((await data.pricing.price({ sku: "5577301", quantity: 1 })).appliedRuleIds, "a rule for one SKU leaves others alone").toEqual([]);

      expect(await data.pricing.deleteRule(rule.id)).toBe(true);
      expect((await data.pricing.price({ sku: SKU, quantity: 3 })).unitAmountMinor).toBe(1_000);
    });
  });

  it("unknown SKU has no price", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.pricing.upsertPriceList(RETAIL);
      await expectBridgeError(data.pricing.price({ sku: "no-such-sku", quantity: 1 }), "NO_PRICE", ["no-such-sku"]);
    });
  });

  it("snapshot stores the quotes", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.pricing.upsertPriceList(RETAIL);
      const snapshot = await data.pricing.snapshot(
        [
          { sku: SKU, quantity: 2 },
          { sku: "5577301", quantity: 1 },
        ],
        { engagementId: "eng-1" },
      );
      expect(snapshot.quotes).toHaveLength(2);
      expect(snapshot.totalMinor).toBe(2 * 1_000 + 2_499);
      expect(snapshot.currency).toBe("USD");
      expect(snapshot.engagementId).toBe("eng-1");
      expect(await data.pricing.getSnapshot(snapshot.id)).toEqual(snapshot);
    });
  });

  it("invalid prices are rejected", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await expectBridgeError(
        data.pricing.upsertPriceList({ ...RETAIL, prices: [{ sku: SKU, unitAmountMinor: 9.99 }] }),
        "VALIDATION_FAILED",
        ["9.99"],
      );
      await expectBridgeError(data.pricing.upsertPriceList({ ...RETAIL, prices: [{ sku: SKU, unitAmountMinor: -1 }] }), "VALIDATION_FAILED");
      await expectBridgeError(data.pricing.upsertPriceList({ ...RETAIL, currency: "dollars" }), "VALIDATION_FAILED", ["dollars"]);
      await data.pricing.upsertPriceList(RETAIL);
      await expectBridgeError(data.pricing.price({ sku: SKU, quantity: 0 }), "VALIDATION_FAILED");
      await expectBridgeError(data.pricing.upsertRule({ name: "Bad", kind: "percent_off", value: 20_000 }), "VALIDATION_FAILED", ["20000"]);
    });
  });

  it("tenants are isolated", async () => {
    const { data, asA, asB } = await start();
    const list = await asA(() => data.pricing.upsertPriceList(RETAIL));
    await asB(async () => {
      expect(await data.pricing.getPriceList(list.id)).toBeNull();
      expect((await data.pricing.listPriceLists()).items).toEqual([]);
      await expectBridgeError(data.pricing.price({ sku: SKU, quantity: 1 }), "NO_PRICE");
      expect(await data.pricing.deletePriceList(list.id)).toBe(false);
    });
    await asA(async () => {
      expect((await data.pricing.price({ sku: SKU, quantity: 1 })).unitAmountMinor).toBe(1_000);
    });
  });
}
