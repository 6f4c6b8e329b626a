import { describe, expect, it } from "vitest";
import { TranslatorRegistry, applyTranslator, effectiveMappings, readPath } from "../../src/data/translator-runtime.js";
import type { TranslatorDefinition } from "../../src/data/translator-runtime.js";
import { NotFoundError, ValidationError } from "../../src/errors.js";

const bestBuyProduct: TranslatorDefinition = {
  name: "bestbuy-product",
  mappings: [
    { from: "sku", to: "sku", transform: "toString", required: true },
    { from: "name", to: "title", transform: "trim", required: true },
    { from: "regularPrice", to: "price.amountMinor", transform: "toMinorUnits" },
    { from: "currency", to: "price.currency", default: "USD" },
    { from: "images.0.href", to: "imageUrl" },
    { from: "manufacturer", to: "brand" },
  ],
  overrides: {
    outlet: [
      { from: "salePrice", to: "price.amountMinor", transform: "toMinorUnits" },
      { from: "condition", to: "attributes.condition", default: "refurbished" },
    ],
  },
};

const row = {
  sku: 6_543_210,
  name: "  Sony 65\" OLED  ",
  regularPrice: 1999.99,
  salePrice: "1499.5",
  images: [{ href: "https://example.com/1.jpg" }],
  manufacturer: null,
};

describe("applyTranslator", () => {
  it("maps fields with transforms and defaults", () => {
    expect(applyTranslator(bestBuyProduct, row)).toEqual({
      sku: "6543210",
      title: 'Sony 65" OLED',
      price: { amountMinor: 199_999, currency: "USD" },
      imageUrl: "https://example.com/1.jpg",
    });
  });

  it("replaces mappings by target under an override label", () => {
    const output = applyTranslator(bestBuyProduct, row, { override: "outlet" });
    expect(output.price).toEqual({ amountMinor: 149_950, currency: "USD" });
    expect(output.attributes).toEqual({ condition: "refurbished" });
    expect(effectiveMappings(bestBuyProduct, "outlet")).toHaveLength(7);
  });

  it("uses the base mappings for an unknown label", () => {
    expect(applyTranslator(bestBuyProduct, row, { override: "tenant-without-override" })).toEqual(applyTranslator(bestBuyProduct, row));
  });

  it("reports every missing required field and failed transform at once", () => {
    try {
      applyTranslator(bestBuyProduct, { regularPrice: "abc" });
      expect.fail("no error");
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      const problems = (error as ValidationError).details.problems as Array<{ from: string }>;
      expect(problems.map((problem) => problem.from)).toEqual(["sku", "name", "regularPrice"]);
      expect((error as ValidationError).message).toContain('failed transform "toMinorUnits"');
    }
  });

  it("names an unknown transform and the registered ones", () => {
    const definition: TranslatorDefinition = { name: "t", mappings: [{ from: "a", to: "b", transform: "rot13" }], overrides: {} };
    expect(() => applyTranslator(definition, { a: "x" })).toThrow(/unknown transform "rot13" \(registered: trim,/);
  });

  it("does not write through __proto__", () => {
    const definition: TranslatorDefinition = { name: "t", mappings: [{ from: "a", to: "__proto__.polluted" }], overrides: {} };
    expect(() => applyTranslator(definition, { a: "x" })).toThrow(ValidationError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(readPath({ a: 1 }, "__proto__")).toBeUndefined();
    expect(readPath({ a: 1 }, "constructor")).toBeUndefined();
  });

  it("copies defaults so outputs never share objects", () => {
    const definition: TranslatorDefinition = { name: "t", mappings: [{ from: "x", to: "tags", default: ["new"] }], overrides: {} };
    const first = applyTranslator(definition, {});
    (first.tags as string[]).push("mutated");
    expect(applyTranslator(definition, {}).tags).toEqual(["new"]);
  });
});

describe("TranslatorRegistry", () => {
  it("runs translators by key with custom transforms", async () => {
    const registry = new TranslatorRegistry({ transforms: { cents: (value) => Number(value) * 100 } });
    registry.register({ name: "price", mappings: [{ from: "p", to: "amount", transform: "cents" }], overrides: {} });
    expect(await registry.translate("price", { p: "3" })).toEqual({ amount: 300 });
  });

  it("loads stored configs when none is registered", async () => {
    const registry = new TranslatorRegistry({
      load: async (name) => (name === "stored" ? { name, mappings: [{ from: "a", to: "b" }], overrides: {} } : null),
    });
    expect(await registry.translate("stored", { a: 1 })).toEqual({ b: 1 });
    await expect(registry.translate("missing", {})).rejects.toBeInstanceOf(NotFoundError);
  });

  it("reports failed rows by index and keeps the others", async () => {
    const registry = new TranslatorRegistry().register(bestBuyProduct);
    const result = await registry.translateMany("bestbuy-product", [row, { name: "no sku" }, row]);
    expect(result.records).toHaveLength(2);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]?.index).toBe(1);
    expect(result.failed[0]?.code).toBe("VALIDATION_FAILED");
  });
});
