import { beforeEach, describe, expect, it } from "vitest";
import { createMemoryData } from "../../src/embedded/data/index.js";
import { ValidationError } from "../../src/errors.js";
import type { DataRole } from "../../src/roles/data/index.js";

let clock: Date;
let data: DataRole;

beforeEach(async () => {
  clock = new Date("2025-06-01T12:00:00.000Z");
  data = createMemoryData({ now: () => clock });
  await data.pricing.upsertPriceList({
    id: "retail",
    name: "Retail",
    currency: "USD",
    prices: [
      { sku: "TV-65", unitAmountMinor: 100_000 },
      { sku: "TV-65", unitAmountMinor: 92_500, minQuantity: 5 },
      { sku: "CABLE", unitAmountMinor: 1_999 },
    ],
  });
});

describe("pricing module", () => {
  it("prices with volume break and customer rule", async () => {
    await data.pricing.upsertRule({ id: "acme", name: "Acme 15%", kind: "percent_off", value: 1500, customerId: "acme" });
    const quote = await data.pricing.price({ sku: "TV-65", quantity: 6, customerId: "acme" });
    expect(quote.baseUnitAmountMinor).toBe(92_500);
    expect(quote.unitAmountMinor).toBe(78_625);
    expect(quote.totalMinor).toBe(471_750);
    expect(quote.appliedRuleIds).toEqual(["acme"]);
  });

  it("uses the clock for validity", async () => {
    await data.pricing.upsertPriceList({
      id: "summer",
      name: "Summer",
      currency: "USD",
      priority: 5,
      validFrom: "2025-06-01T00:00:00Z",
      validTo: "2025-09-01T00:00:00Z",
      prices: [{ sku: "TV-65", unitAmountMinor: 80_000 }],
    });
    expect((await data.pricing.price({ sku: "TV-65", quantity: 1 })).priceListId).toBe("summer");
    clock = new Date("2025-09-01T00:00:00.000Z");
    expect((await data.pricing.price({ sku: "TV-65", quantity: 1 })).priceListId).toBe("retail");
  });

  it("stores snapshots for audit", async () => {
    const snapshot = await data.pricing.snapshot(
      [
        { sku: "TV-65", quantity: 1 },
        { sku: "CABLE", quantity: 3 },
      ],
      { engagementId: "order-1" },
    );
    expect(snapshot.totalMinor).toBe(100_000 + 3 * 1_999);
    expect(snapshot.currency).toBe("USD");
    expect(snapshot.engagementId).toBe("order-1");

    // A later price change must not alter the stored snapshot.
    await data.pricing.upsertPriceList({ id: "retail", name: "Retail", currency: "USD", prices: [{ sku: "TV-65", unitAmountMinor: 1 }] });
    expect((await data.pricing.getSnapshot(snapshot.id))?.totalMinor).toBe(105_997);
  });

  it("fails a snapshot with an unpriced line", async () => {
    await expect(data.pricing.snapshot([{ sku: "TV-65", quantity: 1 }, { sku: "RADIO", quantity: 1 }])).rejects.toMatchObject({ code: "NO_PRICE" });
    await expect(data.pricing.snapshot([])).rejects.toBeInstanceOf(ValidationError);
  });

  it("rejects mixed currencies in a snapshot", async () => {
    await data.pricing.upsertPriceList({ id: "eu", name: "EU", currency: "EUR", priority: 9, customerIds: ["eu-shop"], prices: [{ sku: "CABLE", unitAmountMinor: 1_800 }] });
    await expect(
      data.pricing.snapshot([
        { sku: "TV-65", quantity: 1, customerId: "eu-shop" },
        { sku: "CABLE", quantity: 1, customerId: "eu-shop" },
      ]),
    ).rejects.toThrow(/several currencies \(USD, EUR\)/);
  });

  it("versions, lists and deletes lists and rules", async () => {
    const changed = await data.pricing.upsertPriceList({ id: "retail", name: "Retail 2", currency: "USD", prices: [] });
    expect(changed.version).toBe(2);
    await data.pricing.upsertRule({ id: "r1", name: "Rule", kind: "amount_off", value: 100 });
    expect((await data.pricing.listRules()).items.map((rule) => rule.id)).toEqual(["r1"]);
    expect(await data.pricing.deleteRule("r1")).toBe(true);
    expect(await data.pricing.deletePriceList("retail")).toBe(true);
    expect((await data.pricing.listPriceLists()).items).toEqual([]);
  });

  it("rejects bad lists and rules", async () => {
    await expect(data.pricing.upsertPriceList({ name: "X", currency: "usd", prices: [] })).rejects.toThrow(/currency/);
    await expect(data.pricing.upsertPriceList({ name: "X", currency: "USD", prices: [{ sku: "A1", unitAmountMinor: 9.99 }] })).rejects.toThrow(
      /prices\[0\]\.unitAmountMinor/,
    );
    await expect(data.pricing.upsertRule({ name: "X", kind: "percent_off", value: 20_000 })).rejects.toThrow(/at most 10000 basis points/);
    await expect(data.pricing.upsertRule({ name: "X", kind: "bogo" as never, value: 1 })).rejects.toBeInstanceOf(ValidationError);
  });
});
