import { describe, expect, it } from "vitest";
import { applyRule, computePrice } from "../../src/data/pricing-engine.js";
import { BridgeError, ValidationError } from "../../src/errors.js";
import type { PriceList, PriceRule } from "../../src/roles/data/pricing.js";

const stored = { tenantId: "t1", version: 1, createdAt: "2025-01-01T00:00:00.000Z", updatedAt: "2025-01-01T00:00:00.000Z" };
const now = new Date("2025-06-01T12:00:00.000Z");

function list(overrides: Partial<PriceList> & Pick<PriceList, "id" | "prices">): PriceList {
  return { ...stored, name: overrides.id, currency: "USD", priority: 0, validFrom: null, validTo: null, customerIds: [], ...overrides };
}

function rule(overrides: Partial<PriceRule> & Pick<PriceRule, "id" | "kind" | "value">): PriceRule {
  return { ...stored, name: overrides.id, customerId: null, sku: null, minQuantity: 1, validFrom: null, validTo: null, priority: 0, ...overrides };
}

const retail = list({
  id: "retail",
  prices: [
    { sku: "TV-65", unitAmountMinor: 100_000 },
    { sku: "TV-65", unitAmountMinor: 95_000, minQuantity: 10 },
    { sku: "TV-65", unitAmountMinor: 90_000, minQuantity: 50 },
    { sku: "CABLE", unitAmountMinor: 1_005 },
  ],
});

describe("computePrice", () => {
  it("applies volume break and customer rule", () => {
    const rules = [rule({ id: "acme-10", kind: "percent_off", value: 1000, customerId: "acme" })];
    const quote = computePrice([retail], rules, { sku: "TV-65", quantity: 12, customerId: "acme" }, { now });
    expect(quote.priceListId).toBe("retail");
    expect(quote.baseUnitAmountMinor).toBe(95_000);
    expect(quote.unitAmountMinor).toBe(85_500);
    expect(quote.totalMinor).toBe(85_500 * 12);
    expect(quote.appliedRuleIds).toEqual(["acme-10"]);
    expect(quote.currency).toBe("USD");
  });

  it("skips another customer's rule", () => {
    const rules = [rule({ id: "acme-10", kind: "percent_off", value: 1000, customerId: "acme" })];
    const quote = computePrice([retail], rules, { sku: "TV-65", quantity: 1, customerId: "globex" }, { now });
    expect(quote.unitAmountMinor).toBe(100_000);
    expect(quote.appliedRuleIds).toEqual([]);
  });

  it("picks the largest volume break at or below the quantity", () => {
    expect(computePrice([retail], [], { sku: "TV-65", quantity: 9 }, { now }).unitAmountMinor).toBe(100_000);
    expect(computePrice([retail], [], { sku: "TV-65", quantity: 10 }, { now }).unitAmountMinor).toBe(95_000);
    expect(computePrice([retail], [], { sku: "TV-65", quantity: 500 }, { now }).unitAmountMinor).toBe(90_000);
  });

  it("prefers the highest priority list open to the customer", () => {
    const contract = list({ id: "contract", priority: 10, customerIds: ["acme"], prices: [{ sku: "TV-65", unitAmountMinor: 80_000 }] });
    expect(computePrice([retail, contract], [], { sku: "TV-65", quantity: 1, customerId: "acme" }, { now }).priceListId).toBe("contract");
    expect(computePrice([retail, contract], [], { sku: "TV-65", quantity: 1, customerId: "globex" }, { now }).priceListId).toBe("retail");
    expect(computePrice([retail, contract], [], { sku: "TV-65", quantity: 1 }, { now }).priceListId).toBe("retail");
  });

  it("falls back when the higher list lacks a break", () => {
    const bulk = list({ id: "bulk", priority: 5, prices: [{ sku: "TV-65", unitAmountMinor: 70_000, minQuantity: 100 }] });
    expect(computePrice([retail, bulk], [], { sku: "TV-65", quantity: 3 }, { now }).priceListId).toBe("retail");
    expect(computePrice([retail, bulk], [], { sku: "TV-65", quantity: 100 }, { now }).priceListId).toBe("bulk");
  });

  it("honours validity windows, start inclusive and end exclusive", () => {
    const sale = list({
      id: "sale",
      priority: 1,
      validFrom: "2025-06-01T12:00:00.000Z",
      validTo: "2025-06-02T00:00:00.000Z",
      prices: [{ sku: "TV-65", unitAmountMinor: 75_000 }],
    });
    expect(computePrice([retail, sale], [], { sku: "TV-65", quantity: 1 }, { now }).priceListId).toBe("sale");
    expect(computePrice([retail, sale], [], { sku: "TV-65", quantity: 1, at: "2025-06-02T00:00:00.000Z" }, { now }).priceListId).toBe("retail");
    expect(computePrice([retail, sale], [], { sku: "TV-65", quantity: 1, at: new Date("2025-06-01T11:59:59.999Z") }).priceListId).toBe("retail");
  });

  it("applies rules in priority order", () => {
    const rules = [
      rule({ id: "b-amount", kind: "amount_off", value: 5_000, priority: 1 }),
      rule({ id: "a-fixed", kind: "fixed_price", value: 60_000, priority: 5 }),
    ];
    const quote = computePrice([retail], rules, { sku: "TV-65", quantity: 1 }, { now });
    expect(quote.appliedRuleIds).toEqual(["a-fixed", "b-amount"]);
    expect(quote.unitAmountMinor).toBe(55_000);
  });

  it("ignores rules below their minimum quantity or for other SKUs", () => {
    const rules = [
      rule({ id: "volume", kind: "percent_off", value: 500, minQuantity: 20 }),
      rule({ id: "cable-only", kind: "amount_off", value: 5, sku: "CABLE" }),
    ];
    expect(computePrice([retail], rules, { sku: "TV-65", quantity: 19 }, { now }).appliedRuleIds).toEqual([]);
    expect(computePrice([retail], rules, { sku: "TV-65", quantity: 20 }, { now }).appliedRuleIds).toEqual(["volume"]);
  });

  it("rounds percent discounts half-even", () => {
    expect(applyRule(1005, { kind: "percent_off", value: 5000 })).toBe(502);
    expect(applyRule(1015, { kind: "percent_off", value: 5000 })).toBe(508);
    expect(applyRule(999, { kind: "percent_off", value: 3333 })).toBe(666);
    expect(applyRule(100, { kind: "amount_off", value: 500 })).toBe(0);
  });

  it("throws NO_PRICE for an unpriced SKU", () => {
    try {
      computePrice([retail], [], { sku: "RADIO", quantity: 1, customerId: "acme" }, { now });
      expect.fail("no error");
    } catch (error) {
      expect(error).toBeInstanceOf(BridgeError);
      expect((error as BridgeError).code).toBe("NO_PRICE");
      expect((error as BridgeError).message).toContain('SKU "RADIO"');
      expect((error as BridgeError).message).toContain('customer "acme"');
    }
  });

  it("throws NO_PRICE when only another currency prices the SKU", () => {
    expect(() => computePrice([retail], [], { sku: "TV-65", quantity: 1, currency: "EUR" }, { now })).toThrow(/currency EUR/);
  });

  it("rejects bad requests", () => {
    for (const request of [
      { sku: "TV-65", quantity: 0 },
      { sku: "TV-65", quantity: 1.5 },
      { sku: "TV 65", quantity: 1 },
      { sku: "TV-65", quantity: 1, currency: "usd" },
      { sku: "TV-65", quantity: 1, at: "yesterday" },
    ]) {
      expect(() => computePrice([retail], [], request, { now }), JSON.stringify(request)).toThrow(ValidationError);
    }
  });
});
