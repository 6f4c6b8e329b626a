import { describe, expect, it } from "vitest";
import { describeNonJson, diffFields } from "../../src/data/json.js";
import {
  currencySchema,
  moneySchema,
  newCategorySchema,
  newPriceListSchema,
  newProductSchema,
  parseInput,
  quantitySchema,
  skuSchema,
} from "../../src/data/validation.js";
import { ValidationError } from "../../src/errors.js";

function rejects(schema: Parameters<typeof parseInput>[0], value: unknown): ValidationError {
  try {
    parseInput(schema, value, "input");
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`${JSON.stringify(value)} was accepted`);
}

describe("validation schemas", () => {
  it("accepts SKUs and rejects malformed ones", () => {
    for (const sku of ["6543210", "TV-65.BLK_2", "a"]) expect(parseInput(skuSchema, sku, "SKU")).toBe(sku);
    for (const sku of ["", " TV", "$ne", "TV 65", "-lead", "x".repeat(65), 123]) rejects(skuSchema, sku);
  });

  it("accepts positive whole quantities only", () => {
    expect(parseInput(quantitySchema, 3, "quantity")).toBe(3);
    for (const quantity of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, "2"]) rejects(quantitySchema, quantity);
  });

  it("requires upper-case three-letter currencies", () => {
    expect(parseInput(currencySchema, "EUR", "currency")).toBe("EUR");
    for (const currency of ["usd", "US", "USDT", "U$D"]) rejects(currencySchema, currency);
  });

  it("requires integer minor units in money", () => {
    expect(parseInput(moneySchema, { amountMinor: 1999, currency: "USD" }, "price")).toEqual({ amountMinor: 1999, currency: "USD" });
    expect(rejects(moneySchema, { amountMinor: 19.99, currency: "USD" }).message).toContain("amountMinor: must be an integer number of minor units (got 19.99)");
    rejects(moneySchema, { amountMinor: -1, currency: "USD" });
    rejects(moneySchema, { amountMinor: 1, currency: "USD", extra: true });
  });

  it("lists every problem of a product with its path", () => {
    const error = rejects(newProductSchema, { sku: "bad sku", title: "", attributes: { fn: () => 1 } });
    const paths = (error.details.issues as Array<{ path: string }>).map((issue) => issue.path);
    expect(paths).toEqual(["sku", "title", "attributes"]);
    expect(error.message).toContain("attributes.fn is a function");
  });

  it("rejects $ keys in stored JSON", () => {
    expect(rejects(newProductSchema, { sku: "A1", title: "T", attributes: { $set: { x: 1 } } }).message).toContain('keys may not start with "$"');
  });

  it("checks category paths end with the category", () => {
    expect(() =>
      parseInput(newCategorySchema, { id: "c2", name: "TVs", parentId: "c1", path: [{ id: "c1", name: "Home" }, { id: "c2", name: "TVs" }] }, "category"),
    ).not.toThrow();
    const error = rejects(newCategorySchema, { id: "c2", name: "TVs", parentId: "c9", path: [{ id: "c1", name: "Home" }] });
    expect(error.message).toContain("path: must end with the category itself");
    expect(error.message).toContain("parentId: must equal the id before the last in path");
  });

  it("rejects repeated volume breaks and inverted windows", () => {
    const error = rejects(newPriceListSchema, {
      name: "Retail",
      currency: "USD",
      validFrom: "2025-02-01T00:00:00Z",
      validTo: "2025-01-01T00:00:00Z",
      prices: [
        { sku: "A1", unitAmountMinor: 100 },
        { sku: "A1", unitAmountMinor: 90, minQuantity: 1 },
      ],
    });
    expect(error.message).toContain("validTo: must be later than validFrom");
    expect(error.message).toContain('repeats SKU "A1" with minQuantity 1');
  });
});

describe("json helpers", () => {
  it("describes the first non-JSON part", () => {
    expect(describeNonJson({ a: [1, { b: new Date(0) }] })).toBe("value.a[1].b is a Date (pass an ISO 8601 string), which is not plain JSON");
    expect(describeNonJson({ a: Number.POSITIVE_INFINITY })).toContain("JSON cannot store");
    expect(describeNonJson({ a: [1, "x", null, { b: true }] })).toBeNull();
  });

  it("diffs nested objects by dot path", () => {
    expect(diffFields({ a: 1, o: { x: 1, y: 2 }, l: [1] }, { a: 1, o: { x: 1, y: 3, z: 4 }, l: [1, 2] })).toEqual([
      { field: "l", from: [1], to: [1, 2] },
      { field: "o.y", from: 2, to: 3 },
      { field: "o.z", from: null, to: 4 },
    ]);
  });
});
