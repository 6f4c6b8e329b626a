import { describe, expect, it } from "vitest";
import { addDecimals, multiplyDecimals, parseDecimal, toMinorUnits } from "../../src/data/decimal.js";
import { ValidationError } from "../../src/errors.js";

describe("decimal helpers", () => {
  it("adds 0.1 and 0.2 exactly", () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(addDecimals(["0.1", "0.2"])).toBe("0.3");
    expect(addDecimals(["0.1", "0.2", "-0.3"])).toBe("0");
  });

  it("multiplies exactly", () => {
    expect(multiplyDecimals("0.1", "3")).toBe("0.3");
    expect(multiplyDecimals("1.1", "1.1")).toBe("1.21");
  });

  it("converts major units to minor units half-even", () => {
    expect(toMinorUnits("19.99")).toBe(1999);
    expect(toMinorUnits(19.99)).toBe(1999);
    expect(toMinorUnits(1.005)).toBe(100);
    expect(toMinorUnits("1.015")).toBe(102);
    expect(toMinorUnits("-0.001")).toBe(0);
    expect(toMinorUnits("12", 0)).toBe(12);
  });

  it("rejects non-decimal text", () => {
    for (const text of ["1e3", "+1", "01", "1.", ".5", "1,000", "NaN", "Infinity", "", " 1"]) {
      expect(() => parseDecimal(text, "quantity"), text).toThrow(ValidationError);
    }
    expect(() => parseDecimal(0.5, "quantity")).toThrow(/expected a decimal string/);
    expect(() => parseDecimal("1".repeat(41), "quantity")).toThrow(/significant digits/);
  });
});
