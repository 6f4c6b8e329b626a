import type { Engagement } from "@bridge/core";
import { describe, expect, it } from "vitest";
import { confirmationEmail, formatMoney } from "../src/orders/confirmation.js";

function order(overrides: Partial<Engagement> = {}): Engagement {
  return {
    id: "q-1",
    tenantId: "default",
    customerId: "northwind-traders",
    type: "quote",
    status: "confirmed",
    lineItems: [
      { id: "l1", sku: "5428602", title: "Phone case", quantity: 10, unitPrice: { amountMinor: 4749, currency: "USD" }, total: { amountMinor: 47490, currency: "USD" } },
      { id: "l2", sku: "4984700", title: "Charger", quantity: 1, unitPrice: { amountMinor: 5998, currency: "USD" }, total: { amountMinor: 5998, currency: "USD" } },
    ],
    pricing: { currency: "USD", subtotalMinor: 53488, discountMinor: 1600, taxMinor: 0, totalMinor: 51888, pricedAt: "2024-01-01T00:00:00.000Z", priceListIds: ["list-usd"] },
    fulfillment: null,
    attributes: { orderNumber: "SO-ABC", contactEmail: "buyer@example.com" },
    version: 3,
    createdAt: "2024-01-01T00:00:00.000Z",
    updatedAt: "2024-01-01T00:00:00.000Z",
    ...overrides,
  };
}

describe("confirmationEmail", () => {
  it("shows line totals that add up to the total", () => {
    const email = confirmationEmail(order());

    expect(email.text.split("\n")).toEqual([
      "Thank you for your order SO-ABC.",
      "",
      "- 10 x Phone case (SKU 5428602) at USD 47.49 each: USD 474.90",
      "- 1 x Charger (SKU 4984700) at USD 59.98 each: USD 59.98",
      "",
      "Subtotal: USD 534.88",
      "Discount: USD -16.00",
      "Tax: USD 0.00",
      "Total: USD 518.88",
    ]);
    expect(email.to).toBe("buyer@example.com");
    expect(email.subject).toBe("Order SO-ABC confirmed");
  });

  it("writes a zero discount without a sign", () => {
    const email = confirmationEmail(order({ pricing: { currency: "USD", subtotalMinor: 100, discountMinor: 0, taxMinor: 0, totalMinor: 100, pricedAt: "2024-01-01T00:00:00.000Z", priceListIds: [] } }));

    expect(email.text).toContain("Discount: USD 0.00");
  });
});

describe("formatMoney", () => {
  it.each([
    [0, "USD 0.00"],
    [5, "USD 0.05"],
    [51888, "USD 518.88"],
    [-1600, "USD -16.00"],
  ])("formats %i minor units", (amount, text) => {
    expect(formatMoney(amount, "USD")).toBe(text);
  });
});
