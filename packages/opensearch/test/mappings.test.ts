import type { IndexDefinition } from "@bridge/core";
import { describe, expect, it } from "vitest";
import { buildMappings, buildSettings, DATE_COPIES, readMeta } from "../src/mappings.js";
import { resolveOptions } from "../src/options.js";

const PRODUCTS: IndexDefinition = {
  name: "products",
  fields: { title: "text", description: "text", sku: "keyword", brand: "keyword", price: "number", in_stock: "boolean", updated: "date", extra: "object" },
  searchableFields: [{ field: "title", boost: 3 }, "description"],
  autocompleteField: "title",
};

type Properties = Record<string, Record<string, unknown>>;

describe("buildMappings", () => {
  const mappings = buildMappings(PRODUCTS);
  const properties = mappings.properties as Properties;

  it("maps each field type", () => {
    expect(mappings.dynamic).toBe(false);
    expect(properties.title).toMatchObject({ type: "text", analyzer: "bridge_text" });
    expect(properties.sku).toEqual({ type: "keyword" });
    expect(properties.price).toEqual({ type: "double" });
    expect(properties.in_stock).toEqual({ type: "boolean" });
    expect(properties.extra).toEqual({ type: "object", enabled: false });
    expect(properties.id).toEqual({ type: "keyword" });
  });

  it("gives the autocomplete field its subfields", () => {
    const fields = properties.title?.fields as Properties;
    expect(fields.autocomplete).toMatchObject({ analyzer: "bridge_autocomplete", search_analyzer: "bridge_text" });
    expect(fields.normalized).toMatchObject({ type: "keyword", normalizer: "bridge_lowercase" });
    expect(fields.distinct).toMatchObject({ analyzer: "bridge_distinct", similarity: "bridge_embedded" });
    expect((properties.description?.fields as Properties).autocomplete).toBeUndefined();
  });

  it("keeps dates as given and queries their copy", () => {
    expect(properties.updated).toEqual({ type: "object", enabled: false });
    expect(properties[DATE_COPIES]).toEqual({ properties: { updated: { type: "long" } } });
    expect(mappings._source).toEqual({ excludes: [DATE_COPIES] });
  });

  it("tunes the products kind", () => {
    expect(properties.brand).toEqual({ type: "keyword", eager_global_ordinals: true });
    expect(properties.description).toMatchObject({ index_options: "offsets" });
    // Not declared, so mapped from the kind:
    expect(properties.category).toEqual({ type: "keyword", eager_global_ordinals: true });
    expect(properties.attributes).toMatchObject({ type: "nested" });
  });

  it("tunes the warehouses and zones kinds", () => {
    const warehouses = buildMappings({ name: "warehouses", fields: { name: "text", location: "geo_point" } }).properties as Properties;
    expect(warehouses.location).toEqual({ type: "geo_point" });
    expect(warehouses.delivery_zones).toMatchObject({ type: "geo_shape", ignore_malformed: true });
    expect(warehouses.capacity).toMatchObject({ type: "integer" });
    expect(warehouses.warehouse_id).toEqual({ type: "keyword" });

    const zones = buildMappings({ name: "zones", fields: { name: "text", geometry: "geo_shape" } }).properties as Properties;
    expect(zones.geometry).toEqual({ type: "geo_shape" });
    expect(zones.warehouse_ids).toEqual({ type: "keyword" });
  });

  it("maps a field by its declared type when the kind has another", () => {
    const properties = buildMappings({ name: "products", fields: { title: "text", price: "keyword" } }).properties as Properties;
    expect(properties.price).toEqual({ type: "keyword" });
  });

  it("maps only declared fields of a generic index", () => {
    const properties = buildMappings({ name: "stores", fields: { name: "text", location: "geo_point" } }).properties as Properties;
    expect(Object.keys(properties).sort()).toEqual(["id", "location", "name"]);
  });

  it("records the definition in _meta", () => {
    const meta = readMeta(mappings);
    expect(meta?.definition).toEqual(PRODUCTS);
    expect(meta?.kind).toBe("products");
    expect(typeof meta?.key).toBe("string");
    expect(readMeta({ properties: {} })).toBeUndefined();
  });
});

describe("buildSettings", () => {
  it("applies shards, replicas and refresh interval", () => {
    const settings = buildSettings(resolveOptions({ shards: 2, replicas: 0, refreshInterval: "30s" }));
    expect(settings).toMatchObject({ number_of_shards: 2, number_of_replicas: 0, refresh_interval: "30s" });
    expect(settings.analysis).toBeDefined();
    expect(settings.similarity).toBeDefined();
  });
});
