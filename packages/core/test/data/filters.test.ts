import { describe, expect, it } from "vitest";
import { assertPlainFilter, matchesFilter } from "../../src/data/filters.js";
import { InvalidFilterError } from "../../src/errors.js";

function rejection(filter: unknown, options?: Parameters<typeof assertPlainFilter>[1]): InvalidFilterError {
  try {
    assertPlainFilter(filter, options);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidFilterError);
    return error as InvalidFilterError;
  }
  throw new Error(`filter ${JSON.stringify(filter)} was accepted`);
}

describe("assertPlainFilter", () => {
  it("accepts scalars, null and arrays of scalars", () => {
    expect(() => assertPlainFilter({ brand: "Sony", popularity: 3, active: true, description: null, sku: ["a1", "b2"] })).not.toThrow();
    expect(() => assertPlainFilter({})).not.toThrow();
  });

  it("rejects $ne operator object and names the field", () => {
    const error = rejection({ status: { $ne: null } });
    expect(error.code).toBe("INVALID_FILTER");
    expect(error.message).toContain('"status"');
    expect(error.message).toContain("$ne");
    expect(error.details.field).toBe("status");
  });

  it("rejects $where as key and as value", () => {
    expect(rejection({ $where: "this.a == 1" }).message).toContain("operators are not allowed");
    const valueError = rejection({ title: "$where" });
    expect(valueError.message).toContain('starts with "$"');
    expect(valueError.details.field).toBe("title");
  });

  it("rejects $ strings inside arrays", () => {
    expect(rejection({ sku: ["a", "$gt"] }).details.field).toBe("sku[1]");
  });

  it("rejects nested objects, functions, dates and non-finite numbers", () => {
    expect(rejection({ attributes: { color: "red" } }).message).toContain("objects, operators and functions are rejected");
    expect(rejection({ title: () => true }).message).toContain("a function");
    expect(rejection({ createdAt: new Date(0) }).details.field).toBe("createdAt");
    expect(rejection({ popularity: Number.NaN }).details.field).toBe("popularity");
    expect(rejection({ sku: [["nested"]] }).details.field).toBe("sku[0]");
    expect(rejection({ sku: [null] }).details.field).toBe("sku[0]");
  });

  it("rejects a filter that is not a plain object", () => {
    expect(rejection("brand=Sony").message).toContain("expected a plain object");
    expect(rejection(["brand"]).code).toBe("INVALID_FILTER");
    expect(rejection(null).code).toBe("INVALID_FILTER");
    expect(rejection(new Map()).code).toBe("INVALID_FILTER");
  });

  it("rejects dotted, prototype and malformed field names", () => {
    expect(rejection({ "attributes.color": "red" }).message).toContain("dotted paths are not supported");
    expect(rejection(JSON.parse('{"__proto__": "x"}')).code).toBe("INVALID_FILTER");
    expect(rejection({ "": "x" }).code).toBe("INVALID_FILTER");
    expect(rejection({ "a b": "x" }).code).toBe("INVALID_FILTER");
  });

  it("rejects fields outside allowedFields and lists the allowed ones", () => {
    const error = rejection({ secret: "x" }, { allowedFields: ["brand", "sku"] });
    expect(error.message).toContain("Allowed fields: brand, sku");
  });

  it("carries the error context it is given", () => {
    const error = rejection({ a: { $gt: 1 } }, { context: { role: "data", integration: "mongodb", tenantId: "t1" } });
    expect(error.role).toBe("data");
    expect(error.integration).toBe("mongodb");
    expect(error.tenantId).toBe("t1");
  });
});

describe("matchesFilter", () => {
  const record = { brand: "Sony", tags: ["tv", "oled"], popularity: 5, note: null };

  it("matches equality and array membership", () => {
    expect(matchesFilter(record, { brand: "Sony" })).toBe(true);
    expect(matchesFilter(record, { brand: "LG" })).toBe(false);
    expect(matchesFilter(record, { tags: "oled" })).toBe(true);
    expect(matchesFilter(record, { brand: ["LG", "Sony"] })).toBe(true);
    expect(matchesFilter(record, { popularity: "5" })).toBe(false);
  });

  it("matches null against null and missing fields", () => {
    expect(matchesFilter(record, { note: null })).toBe(true);
    expect(matchesFilter(record, { missing: null })).toBe(true);
    expect(matchesFilter(record, { brand: null })).toBe(false);
  });

  it("requires every field to match", () => {
    expect(matchesFilter(record, { brand: "Sony", popularity: 5 })).toBe(true);
    expect(matchesFilter(record, { brand: "Sony", popularity: 4 })).toBe(false);
  });
});
