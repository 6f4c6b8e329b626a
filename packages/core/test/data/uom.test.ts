import { beforeEach, describe, expect, it } from "vitest";
import { addDecimals } from "../../src/data/decimal.js";
import { UOM_ROUNDING } from "../../src/embedded/data/uom.js";
import { createMemoryData } from "../../src/embedded/data/index.js";
import { NotFoundError, ValidationError } from "../../src/errors.js";
import type { DataRole } from "../../src/roles/data/index.js";

let data: DataRole;

const units = [
  { code: "EA", name: "Each", dimension: "count" },
  { code: "DZ", name: "Dozen", dimension: "count" },
  { code: "CS", name: "Case", dimension: "count" },
  { code: "PK3", name: "Pack of three", dimension: "count" },
  { code: "KG", name: "Kilogram", dimension: "mass" },
  { code: "G", name: "Gram", dimension: "mass" },
  { code: "LB", name: "Pound", dimension: "mass" },
];

beforeEach(async () => {
  data = createMemoryData();
  await data.uom.saveConfiguration({
    name: "standard",
    units,
    conversions: [
      { from: "DZ", to: "EA", factor: "12" },
      { from: "CS", to: "EA", factor: "24" },
      { from: "CS", to: "EA", factor: "12", sku: "WATER-12" },
      { from: "PK3", to: "EA", factor: "3" },
      { from: "KG", to: "G", factor: "1000" },
      { from: "LB", to: "KG", factor: "0.45359237" },
    ],
  });
});

const convert = (quantity: string, from: string, to: string, sku?: string) =>
  data.uom.convert({ configuration: "standard", quantity, from, to, ...(sku ? { sku } : {}) });

describe("UOM conversion", () => {
  it("is exact where binary floats are not", async () => {
    // Binary floating point gets these wrong: (0.1 + 0.2) * 1000 is 300.00000000000006.
    expect((0.1 + 0.2) * 1000).not.toBe(300);
    expect(300.1 / 1000).not.toBe(0.3001);
    expect(await convert(addDecimals(["0.1", "0.2"]), "KG", "G")).toBe("300");
    expect(await convert("0.3", "KG", "G")).toBe("300");
    expect(await convert("0.1", "KG", "G")).toBe("100");
    expect(await convert("300.1", "G", "KG")).toBe("0.3001");
    expect(await convert("0.3", "G", "KG")).toBe("0.0003");
    expect(await convert("1", "LB", "G")).toBe("453.59237");
    expect(await convert("0.1", "LB", "KG")).toBe("0.045359237");
    const parts = [await convert("0.1", "LB", "KG"), await convert("0.2", "LB", "KG")];
    expect(addDecimals(parts)).toBe(await convert("0.3", "LB", "KG"));
    expect(addDecimals(parts)).toBe("0.136077711");
  });

  it("rounds thirds half-even to 12 places", async () => {
    expect(UOM_ROUNDING).toEqual({ scale: 12, mode: "half-even" });
    expect(await convert("1", "EA", "PK3")).toBe("0.333333333333");
    expect(await convert("2", "EA", "PK3")).toBe("0.666666666667");
    expect(await convert("1", "EA", "DZ")).toBe("0.083333333333");
    expect(await convert("3", "EA", "PK3")).toBe("1");
  });

  it("rounds a multi-step path once", async () => {
    // PK3 → EA → DZ is 3 / 12 = 0.25 exactly; rounding 1/12 first would give 0.249999999999.
    expect(await convert("1", "PK3", "DZ")).toBe("0.25");
    expect(await convert("1", "DZ", "CS")).toBe("0.5");
    expect(await convert("0.000000000001", "G", "KG")).toBe("0");
    expect(await convert("0.0000000005", "G", "KG")).toBe("0");
    expect(await convert("0.0000000015", "G", "KG")).toBe("0.000000000002");
  });

  it("prefers a SKU-specific conversion", async () => {
    expect(await convert("2", "CS", "EA")).toBe("48");
    expect(await convert("2", "CS", "EA", "WATER-12")).toBe("24");
    expect(await convert("6", "EA", "CS", "WATER-12")).toBe("0.5");
  });

  it("converts negative and same-unit quantities", async () => {
    expect(await convert("-1.5", "DZ", "EA")).toBe("-18");
    expect(await convert("2.50", "EA", "EA")).toBe("2.5");
  });

  it("rejects conversions across dimensions and unknown units", async () => {
    await expect(convert("1", "KG", "EA")).rejects.toThrow(/units convert only within one dimension/);
    await expect(convert("1", "KG", "OZ")).rejects.toThrow(/"OZ" is not defined/);
    await expect(data.uom.convert({ configuration: "missing", quantity: "1", from: "EA", to: "DZ" })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("rejects non-decimal quantities", async () => {
    for (const quantity of ["1e3", "0.1.2", "abc", "", " 1"]) {
      await expect(convert(quantity, "KG", "G"), quantity).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(data.uom.convert({ configuration: "standard", quantity: 0.3 as never, from: "KG", to: "G" })).rejects.toThrow(/decimal string/);
  });

  it("reports a missing path", async () => {
    await data.uom.saveConfiguration({ name: "split", units: units.slice(0, 3), conversions: [{ from: "DZ", to: "EA", factor: "12" }] });
    await expect(data.uom.convert({ configuration: "split", quantity: "1", from: "CS", to: "EA" })).rejects.toThrow(/No conversion from CS to EA/);
  });
});

describe("UOM configuration", () => {
  it("rejects inconsistent configurations", async () => {
    const attempt = data.uom.saveConfiguration({
      name: "broken",
      units: [...units, { code: "EA", name: "Again", dimension: "count" }],
      conversions: [
        { from: "KG", to: "EA", factor: "2" },
        { from: "EA", to: "XX", factor: "1" },
        { from: "DZ", to: "EA", factor: "12" },
        { from: "EA", to: "DZ", factor: "0.08" },
      ],
    });
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toThrow(/unit "EA" is defined twice/);
    await expect(attempt).rejects.toThrow(/crosses dimensions/);
    await expect(attempt).rejects.toThrow(/undefined unit "XX"/);
    await expect(attempt).rejects.toThrow(/repeats a pair/);
  });

  it("rejects zero and negative factors", async () => {
    for (const factor of ["0", "0.000", "-2", "1e2"]) {
      await expect(data.uom.saveConfiguration({ name: "f", units, conversions: [{ from: "DZ", to: "EA", factor }] }), factor).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
  });

  it("replaces a configuration by name", async () => {
    const saved = await data.uom.saveConfiguration({ name: "standard", units: units.slice(0, 2), conversions: [{ from: "DZ", to: "EA", factor: "12" }] });
    expect(saved.version).toBe(2);
    expect((await data.uom.getConfiguration("standard"))?.units).toHaveLength(2);
  });
});
