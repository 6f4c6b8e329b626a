import { describe, expect, it } from "vitest";
import { encodeTenant, indexKind, indexNames, versionOf } from "../src/naming.js";
import { resolveOptions } from "../src/options.js";

describe("encodeTenant", () => {
  it("keeps lower-case ids as they are", () => {
    expect(encodeTenant("acme")).toBe("acme");
    expect(encodeTenant("tenant_1-eu")).toBe("tenant_1-eu");
  });

  it("encodes every other character", () => {
    expect(encodeTenant("Acme Co")).toBe("~41cme~20~43o");
    expect(encodeTenant("a.b")).toBe("a~2eb");
    expect(encodeTenant("münchen")).toBe("m~c3~bcnchen");
    expect(encodeTenant("*,/\\")).toBe("~2a~2c~2f~5c");
  });

  it("gives different names to different tenants", () => {
    const tenants = ["acme", "Acme", "ACME", "a~41", "a.b", "a-b", "a_b", "a b", "~41", "A"];
    const encoded = tenants.map(encodeTenant);
    expect(new Set(encoded).size).toBe(tenants.length);
    for (const name of encoded) expect(name).not.toContain(".");
  });
});

describe("indexKind", () => {
  it("reads the kind from the last part of the name", () => {
    expect(indexKind("products")).toBe("products");
    expect(indexKind("kt1a2b-products")).toBe("products");
    expect(indexKind("shop_warehouses")).toBe("warehouses");
    expect(indexKind("inventory")).toBe("warehouses");
    expect(indexKind("zones")).toBe("zones");
    expect(indexKind("products-archive")).toBe("generic");
    expect(indexKind("stores")).toBe("generic");
  });
});

describe("indexNames", () => {
  const options = resolveOptions({ indexPrefix: "shop", productIndex: "catalog", inventoryIndex: "stock" });

  it("puts prefix, tenant and index in the alias", () => {
    const names = indexNames(options, "Acme", "orders")!;
    expect(names.alias).toBe("shop.~41cme.orders");
    expect(names.version(3)).toBe("shop.~41cme.orders.v3");
    expect(names.versionPattern).toBe("shop.~41cme.orders.v*");
  });

  it("renames the products and warehouses indexes", () => {
    expect(indexNames(options, "t", "products")!.alias).toBe("shop.t.catalog");
    expect(indexNames(options, "t", "warehouses")!.alias).toBe("shop.t.stock");
    expect(indexNames(options, "t", "kt1-products")!.alias).toBe("shop.t.kt1-products");
  });

  it("refuses names too long for OpenSearch", () => {
    expect(indexNames(options, "x".repeat(300), "products")).toBeUndefined();
    expect(indexNames(options, "x".repeat(100), "products")).toBeDefined();
  });

  it("reads the version back", () => {
    expect(versionOf("shop.t.orders", "shop.t.orders.v12")).toBe(12);
    expect(versionOf("shop.t.orders", "shop.t.orders")).toBeUndefined();
    expect(versionOf("shop.t.orders", "shop.t.orders.v12-old")).toBeUndefined();
    expect(versionOf("shop.t.order", "shop.t.orders.v1")).toBeUndefined();
  });
});
