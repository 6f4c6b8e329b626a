import type { NewWarehouse } from "@bridge/core";
import { previewValue, type Rejection } from "./rejections.js";

export interface WarehouseMapping {
  warehouses: NewWarehouse[];
  rejected: Rejection[];
  /** Index in the source file of each warehouse. */
  sourceIndexById: Map<string, number>;
}

/** Maps Best Buy store records to warehouses with id `store-<id>` and the store's coordinates. */
export function mapStores(records: readonly unknown[]): WarehouseMapping {
  const warehouses: NewWarehouse[] = [];
  const rejected: Rejection[] = [];
  const sourceIndexById = new Map<string, number>();

  records.forEach((record, index) => {
    const result = readStore(record, index);
    if ("reason" in result) {
      rejected.push(result);
      return;
    }
    if (sourceIndexById.has(result.id)) {
      rejected.push({ index, reason: "duplicate-id", value: result.id, message: `warehouse ${result.id} appears earlier in the file; the first record wins` });
      return;
    }
    sourceIndexById.set(result.id, index);
    warehouses.push(result);
  });
  return { warehouses, rejected, sourceIndexById };
}

function readStore(record: unknown, index: number): NewWarehouse | Rejection {
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    return { index, reason: "not-an-object", value: previewValue(record), message: "store record is not a JSON object" };
  }
  const store = record as Record<string, unknown>;

  let storeId = "";
  if (typeof store.id === "number" && Number.isInteger(store.id)) storeId = String(store.id);
  else if (typeof store.id === "string") storeId = store.id.trim();
  if (storeId === "") {
    return { index, reason: "missing-id", value: previewValue(store.id), message: "store has no id; an integer or non-empty string is required" };
  }
  const id = `store-${storeId}`;
  if (typeof store.name !== "string" || store.name.trim() === "") {
    return { index, reason: "missing-name", value: previewValue(store.name), message: `store ${storeId} has no name` };
  }

  // Without valid coordinates a store cannot be found by distance, so it is not imported.
  const location = store.location as { lat?: unknown; lon?: unknown } | null | undefined;
  const lat = location?.lat;
  const lon = location?.lon;
  if (typeof lat !== "number" || typeof lon !== "number" || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
    return {
      index,
      reason: "invalid-location",
      value: previewValue(store.location),
      message: `store ${storeId} has location ${JSON.stringify(store.location)}; expected { lat: -90..90, lon: -180..180 }`,
    };
  }

  return {
    id,
    name: store.name.trim(),
    location: { lat, lon },
    address: {
      line1: stringOr(store.address),
      line2: stringOr(store.address2),
      city: stringOr(store.city),
      state: stringOr(store.state),
      postalCode: stringOr(store.zip),
      country: "US",
    },
    attributes: {
      storeId,
      storeType: stringOr(store.type),
      hours: stringOr(store.hours),
      services: Array.isArray(store.services) ? store.services.filter((service) => typeof service === "string").map((service: string) => service.trim()) : [],
    },
  };
}

function stringOr(value: unknown): string {
  return typeof value === "string" ? value.trim() : "";
}

/** Warehouses that stock each product; a few per SKU keeps the stock table small. */
export const WAREHOUSES_PER_PRODUCT = 3;

export interface StockAllocation {
  warehouseId: string;
  onHand: number;
}

/**
 * Picks warehouses and on-hand quantities for a SKU from a generator seeded by
 * the SKU, so every import of the same files produces the same stock. About
 * one SKU in ten gets no stock anywhere, so out-of-stock paths are exercised.
 */
export function stockForSku(sku: string, warehouseIds: readonly string[]): StockAllocation[] {
  if (warehouseIds.length === 0) return [];
  const random = mulberry32(fnv1a(sku));
  const outOfStock = random() < 0.1;
  const count = Math.min(WAREHOUSES_PER_PRODUCT, warehouseIds.length);

  const picked = new Set<number>();
  while (picked.size < count) picked.add(Math.floor(random() * warehouseIds.length));

  return [...picked].map((position) => ({
    warehouseId: warehouseIds[position] as string,
    onHand: outOfStock ? 0 : 5 + Math.floor(random() * 46),
  }));
}

/** 32-bit FNV-1a hash of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Small seeded generator of floats in [0, 1); deterministic across runs and platforms. */
function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
