import type { NewCategory, NewWarehouse } from "@bridge/core";
import type { ProductRow } from "./products.js";
import type { Rejection } from "./rejections.js";
import type { StockAllocation } from "./warehouses.js";

/** Queue tasks of the catalogue import, one per kind of record. */
export const IMPORT_TASKS = {
  categories: "catalog.import-categories",
  warehouses: "catalog.import-warehouses",
  products: "catalog.import-products",
  prices: "catalog.import-prices",
  zones: "catalog.import-zones",
} as const;

export type ImportKind = keyof typeof IMPORT_TASKS;

/** Notification type workers publish after each batch. */
export const PROGRESS_EVENT = "catalog.import.progress";

/** Id of the USD price list the import writes. */
export const PRICE_LIST_ID = "list-usd";
export const CURRENCY = "USD";

/** Volume break written into the price list: this percent off from this quantity up. */
export const VOLUME_BREAK = { minQuantity: 10, percentOff: 5 } as const;

/** The customer with a negotiated discount, and the rule that grants it. */
export const CONTRACT_CUSTOMER_ID = "northwind-traders";
export const CONTRACT_RULE = { id: "rule-northwind-contract", percentOffBasisPoints: 300 } as const;

interface BatchHeader {
  runId: string;
  /** 1-based. */
  batch: number;
  batches: number;
}

export interface CategoryBatch extends BatchHeader {
  categories: NewCategory[];
}

export interface WarehouseBatch extends BatchHeader {
  warehouses: NewWarehouse[];
}

export interface ProductJobRow extends ProductRow {
  stock: StockAllocation[];
}

export interface ProductBatch extends BatchHeader {
  products: ProductJobRow[];
}

export interface ZoneBatch extends BatchHeader {
  /** Zone ids (USPS codes such as `MN`) whose documents the job builds from the bundled state boundaries. */
  zoneIds: string[];
}

export interface PriceJob extends BatchHeader {
  priceListId: string;
  currency: string;
}

/** Payload of a `catalog.import.progress` notification. */
export interface ImportProgress {
  runId: string;
  kind: ImportKind;
  batch: number;
  batches: number;
  /** Records written to the datastore (or price entries written, for prices). */
  written: number;
  /** Records the datastore rejected, with their source index (warehouses and categories carry their id in `value`). */
  failed: Rejection[];
  indexed: number;
  /** Records the datastore wrote but the search index rejected; they count as imported. */
  notIndexed: Rejection[];
  stockRows: number;
  brands: string[];
  /** Set by zone jobs: the warehouses each indexed zone lists, by zone id. */
  zoneWarehouses?: Record<string, string[]>;
}
