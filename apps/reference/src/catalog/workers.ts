import { isBridgeError, runWithTenant, type Bridge, type JobCard, type Logger, type NewProduct, type PriceEntry, type Worker } from "@bridge/core";
import {
  CONTRACT_CUSTOMER_ID,
  CONTRACT_RULE,
  IMPORT_TASKS,
  PROGRESS_EVENT,
  VOLUME_BREAK,
  type CategoryBatch,
  type ImportProgress,
  type PriceJob,
  type ProductBatch,
  type WarehouseBatch,
  type ZoneBatch,
} from "./jobs.js";
import type { Rejection } from "./rejections.js";
import {
  PRODUCTS_INDEX,
  PRODUCTS_INDEX_DEFINITION,
  WAREHOUSES_INDEX,
  WAREHOUSES_INDEX_DEFINITION,
  productDocument,
  warehouseDocument,
  type WarehouseSearchDocument,
} from "./search-documents.js";
import { slugify } from "./slug.js";
import { loadStateZones, zoneDocument, ZONES_INDEX, ZONES_INDEX_DEFINITION, type LocatedWarehouse, type ZoneSearchDocument } from "./zones.js";

/**
 * Defines the import workers on the bridge. Every handler is safe to run
 * again on a retried job: upserts by key, absolute stock levels and search
 * documents keyed by id.
 */
export function defineCatalogWorkers(bridge: Bridge): Worker[] {
  const log = bridge.logs.child({ source: "catalog-import" });

  const run = <P>(task: string, batchSize: number, concurrency: number, handle: (job: JobCard<P>) => Promise<ImportProgress>) =>
    bridge.worker<P>({
      task,
      batchSize,
      concurrency,
      handler: (job) =>
        runWithTenant(job.tenantId, async () => {
          const progress = await handle(job);
          log.info("import batch done", { task, jobId: job.id, tenantId: job.tenantId, runId: progress.runId, batch: progress.batch, batches: progress.batches, written: progress.written, failed: progress.failed.length });
          await bridge.notifications.publish(PROGRESS_EVENT, progress);
        }),
    });

  return [
    run<CategoryBatch>(IMPORT_TASKS.categories, 4, 1, (job) => importCategories(bridge, job.payload)),
    run<WarehouseBatch>(IMPORT_TASKS.warehouses, 4, 1, (job) => importWarehouses(bridge, job.payload, log)),
    run<ProductBatch>(IMPORT_TASKS.products, 4, 2, (job) => importProducts(bridge, job.payload)),
    run<PriceJob>(IMPORT_TASKS.prices, 1, 1, (job) => importPrices(bridge, job.payload)),
    run<ZoneBatch>(IMPORT_TASKS.zones, 4, 1, (job) => importZones(bridge, job.payload)),
  ];
}

function emptyProgress(kind: ImportProgress["kind"], payload: { runId: string; batch: number; batches: number }): ImportProgress {
  return { runId: payload.runId, kind, batch: payload.batch, batches: payload.batches, written: 0, failed: [], indexed: 0, notIndexed: [], stockRows: 0, brands: [] };
}

async function importCategories(bridge: Bridge, payload: CategoryBatch): Promise<ImportProgress> {
  const progress = emptyProgress("categories", payload);
  const result = await bridge.data.datastore.categories.bulkUpsert(payload.categories);
  progress.written = result.inserted + result.updated;
  progress.failed = result.failed.map((row) => ({
    index: row.index,
    reason: "datastore-rejected",
    value: row.key,
    message: `category ${row.key ?? "?"} was rejected by the datastore (${row.code}): ${row.message}`,
  }));
  return progress;
}

async function importWarehouses(bridge: Bridge, payload: WarehouseBatch, log: Logger): Promise<ImportProgress> {
  const progress = emptyProgress("warehouses", payload);
  const documents: WarehouseSearchDocument[] = [];

  for (const [position, warehouse] of payload.warehouses.entries()) {
    try {
      await bridge.data.inventory.upsertWarehouse(warehouse);
      progress.written += 1;
    } catch (error) {
      // A rejected row is reported and the batch goes on; anything else fails the job and is retried.
      if (!isBridgeError(error) || error.retryable) throw error;
      log.warn("warehouse rejected by the datastore", { runId: payload.runId, warehouseId: warehouse.id, err: error });
      progress.failed.push({ index: position, reason: "datastore-rejected", value: warehouse.id, message: `warehouse ${warehouse.id} was rejected: ${error.message}` });
      continue;
    }
    const document = warehouseDocument(warehouse);
    if (document !== null) documents.push(document);
  }

  await bridge.search.ensureIndex(WAREHOUSES_INDEX_DEFINITION);
  const indexed = await bridge.search.bulkIndex(WAREHOUSES_INDEX, documents);
  progress.indexed = indexed.indexed;
  for (const failure of indexed.failed) {
    progress.notIndexed.push({ index: failure.index, reason: "index-rejected", value: failure.id, message: `warehouse ${failure.id ?? "?"} was stored but not indexed: ${failure.message}` });
  }
  return progress;
}

async function importProducts(bridge: Bridge, payload: ProductBatch): Promise<ImportProgress> {
  const progress = emptyProgress("products", payload);
  const { datastore, inventory } = bridge.data;

  const brands = [...new Set(payload.products.map((row) => row.brand).filter((brand): brand is string => brand !== undefined))];
  for (const name of brands) {
    await datastore.brands.upsert({ id: `brand-${slugify(name) || "unnamed"}`, name });
  }
  progress.brands = brands;

  const rows: NewProduct[] = payload.products.map((row) => ({
    sku: row.sku,
    title: row.title,
    slug: `${slugify(row.title)}-${row.sku}`,
    ...(row.description === undefined ? {} : { description: row.description }),
    ...(row.brand === undefined ? {} : { brand: row.brand }),
    categories: row.categories,
    categoryIds: row.categoryIds,
    price: { amountMinor: row.priceMinor, currency: "USD" },
    imageUrl: row.imageUrl,
    popularity: row.popularity,
    attributes: { sourceIndex: row.sourceIndex },
  }));
  const result = await datastore.products.bulkUpsert(rows);
  progress.written = result.inserted + result.updated;

  const failedPositions = new Set(result.failed.map((row) => row.index));
  progress.failed = result.failed.map((row): Rejection => {
    const source = payload.products[row.index];
    return {
      index: source?.sourceIndex ?? -1,
      reason: "datastore-rejected",
      sku: source?.sku ?? row.key ?? "",
      message: `product ${source?.sku ?? row.key ?? "?"} was rejected by the datastore (${row.code}): ${row.message}`,
    };
  });

  const documents = [];
  for (const [position, row] of payload.products.entries()) {
    if (failedPositions.has(position)) continue;
    for (const allocation of row.stock) {
      await inventory.setStock(row.sku, allocation.warehouseId, allocation.onHand, { reason: `catalog import ${payload.runId}` });
      progress.stockRows += 1;
    }
    const inStock = row.stock.some((allocation) => allocation.onHand > 0);
    const product = rows[position] as NewProduct & { categories: string[] };
    documents.push(productDocument(product, inStock));
  }

  await bridge.search.ensureIndex(PRODUCTS_INDEX_DEFINITION);
  const indexed = await bridge.search.bulkIndex(PRODUCTS_INDEX, documents);
  progress.indexed = indexed.indexed;
  for (const failure of indexed.failed) {
    const source = payload.products.find((row) => row.sku === failure.id);
    progress.notIndexed.push({ index: source?.sourceIndex ?? -1, reason: "index-rejected", sku: failure.id ?? "", message: `product ${failure.id ?? "?"} was stored but not indexed: ${failure.message}` });
  }
  return progress;
}

/**
 * Builds the USD price list from the imported product prices: the list price
 * from 1 unit and a volume break from `VOLUME_BREAK.minQuantity` units, plus
 * the contract customer's percent-off rule.
 */
async function importPrices(bridge: Bridge, payload: PriceJob): Promise<ImportProgress> {
  const progress = emptyProgress("prices", payload);
  const prices: PriceEntry[] = [];

  let cursor: string | null = null;
  do {
    const page = await bridge.data.datastore.products.list({ limit: 500, cursor });
    for (const product of page.items) {
      if (product.price === undefined || product.price.currency !== payload.currency) continue;
      const listPrice = product.price.amountMinor;
      prices.push({ sku: product.sku, unitAmountMinor: listPrice });
      prices.push({
        sku: product.sku,
        unitAmountMinor: Math.round((listPrice * (100 - VOLUME_BREAK.percentOff)) / 100),
        minQuantity: VOLUME_BREAK.minQuantity,
      });
    }
    cursor = page.nextCursor;
  } while (cursor !== null);

  await bridge.data.pricing.upsertPriceList({ id: payload.priceListId, name: "USD list prices", currency: payload.currency, priority: 10, prices });
  await bridge.data.pricing.upsertRule({
    id: CONTRACT_RULE.id,
    name: `Contract discount for ${CONTRACT_CUSTOMER_ID}`,
    kind: "percent_off",
    value: CONTRACT_RULE.percentOffBasisPoints,
    customerId: CONTRACT_CUSTOMER_ID,
  });
  progress.written = prices.length;
  return progress;
}

/**
 * Indexes the delivery zones named in the job, each listing the tenant's
 * warehouses inside it. Warehouses come from the data role, so the zones
 * phase runs after the warehouses phase.
 */
async function importZones(bridge: Bridge, payload: ZoneBatch): Promise<ImportProgress> {
  const progress = emptyProgress("zones", payload);
  const warehouses = await locatedWarehouses(bridge);

  const requested = new Set(payload.zoneIds);
  const zones = loadStateZones().filter((zone) => requested.has(zone.zoneId));
  const documents: ZoneSearchDocument[] = zones.map((zone) => zoneDocument(zone, warehouses));
  for (const zoneId of requested) {
    if (!zones.some((zone) => zone.zoneId === zoneId)) {
      progress.notIndexed.push({ index: -1, reason: "index-rejected", value: zoneId, message: `zone ${zoneId} is not in the bundled state boundaries, so it was not indexed` });
    }
  }

  await bridge.search.ensureIndex(ZONES_INDEX_DEFINITION);
  const indexed = await bridge.search.bulkIndex(ZONES_INDEX, documents);
  progress.indexed = indexed.indexed;
  const failedIds = new Set<string>();
  for (const failure of indexed.failed) {
    const zoneId = failure.id ?? documents[failure.index]?.id ?? "?";
    failedIds.add(zoneId);
    // The importer replaces index -1 with the zone's position in the boundary file.
    progress.notIndexed.push({ index: -1, reason: "index-rejected", value: zoneId, message: `zone ${zoneId} was not indexed: ${failure.message}` });
  }
  progress.zoneWarehouses = Object.fromEntries(documents.filter((document) => !failedIds.has(document.id)).map((document) => [document.id, document.warehouse_ids]));
  return progress;
}

/** Reads every warehouse of the current tenant that has a location. */
async function locatedWarehouses(bridge: Bridge): Promise<LocatedWarehouse[]> {
  const located: LocatedWarehouse[] = [];
  let cursor: string | null = null;
  do {
    const page = await bridge.data.inventory.listWarehouses({ limit: 500, cursor });
    for (const warehouse of page.items) {
      if (warehouse.location !== null) located.push({ id: warehouse.id, location: warehouse.location });
    }
    cursor = page.nextCursor;
  } while (cursor !== null);
  return located;
}
