import { randomUUID } from "node:crypto";
import { BridgeError, currentTenantId, type Bridge, type Logger, type NotificationSubscription, type PublishBatchItem } from "@bridge/core";
import { CategoryIndex, mapCategories, type CategoryMapping } from "./categories.js";
import { CURRENCY, IMPORT_TASKS, PRICE_LIST_ID, PROGRESS_EVENT, type ImportKind, type ImportProgress, type ProductJobRow } from "./jobs.js";
import { mapProducts } from "./products.js";
import type { Rejection } from "./rejections.js";
import { DEFAULT_SOURCE_FILES, readRecords, type SourceFiles } from "./source.js";
import { mapStores, stockForSku } from "./warehouses.js";
import { loadStateZones } from "./zones.js";

export interface ImportOptions {
  /** Source file paths; the bundled data set by default. */
  files?: Partial<SourceFiles>;
  /** Records to import in place of reading files, such as a slice in tests. */
  records?: { products?: unknown[]; categories?: unknown[]; stores?: unknown[] };
  /** Products per `catalog.import-products` job. Default 100. */
  productBatchSize?: number;
  /** Categories per job. Default 250. */
  categoryBatchSize?: number;
  /** Warehouses per job. Default 200. */
  warehouseBatchSize?: number;
  /** Delivery zones per `catalog.import-zones` job. Default 14, so the 56 zones take 4 jobs. */
  zoneBatchSize?: number;
  /** How long to wait for the workers of one phase. Default 120 s. */
  phaseTimeoutMs?: number;
}

export interface ImportSection {
  /** Records in the source. */
  records: number;
  /** Records written to the datastore. */
  imported: number;
  rejected: Rejection[];
}

export interface ImportReport {
  runId: string;
  tenantId: string;
  products: ImportSection & { indexed: number; stockRows: number; notIndexed: Rejection[] };
  /**
   * `imported` and `rejected` count records of the file only, so they add up
   * to `records`. Parents that appear only inside other records' paths are
   * counted apart.
   */
  categories: ImportSection & {
    /** Categories taken from other records' paths and written to the datastore. */
    derivedFromPaths: number;
    /** Categories taken from paths that the datastore rejected (index -1). */
    derivedRejected: Rejection[];
  };
  warehouses: ImportSection & { indexed: number; notIndexed: Rejection[] };
  /** Delivery zones from the bundled state boundaries. The `index` of a rejection is the zone's position in that file. */
  zones: {
    /** Zones in the boundary file. */
    records: number;
    indexed: number;
    notIndexed: Rejection[];
    /** Indexed zones that list at least one warehouse. */
    withWarehouses: number;
    /** Sum over the indexed zones of the warehouses each lists, so a warehouse on a shared border counts once per zone. */
    warehouseLinks: number;
    /** Warehouses of this run that no indexed zone contains, so a zone lookup never returns them. */
    warehousesOutside: string[];
  };
  brands: number;
  priceEntries: number;
  elapsedMs: number;
}

/**
 * Imports the catalogue for the current tenant through the queue: categories
 * and warehouses first, then products (which reference both) side by side
 * with the delivery zones (which list the stored warehouses), then the price
 * list built from the stored products. Each phase publishes its jobs and
 * waits for the workers' progress notifications before the next one starts.
 */
export async function importCatalog(bridge: Bridge, options: ImportOptions = {}): Promise<ImportReport> {
  const startedAt = performance.now();
  const runId = randomUUID();
  const tenantId = currentTenantId();
  const log = bridge.logs.child({ source: "catalog-import", runId, tenantId });

  const files = { ...DEFAULT_SOURCE_FILES, ...options.files };
  const [productRecords, categoryRecords, storeRecords] = await Promise.all([
    options.records?.products ?? readRecords(files.products),
    options.records?.categories ?? readRecords(files.categories),
    options.records?.stores ?? readRecords(files.stores),
  ]);

  const categoryMapping = mapCategories(categoryRecords);
  const warehouseMapping = mapStores(storeRecords);
  const productMapping = mapProducts(productRecords, new CategoryIndex(categoryMapping.categories));
  const warehouseIds = warehouseMapping.warehouses.map((warehouse) => warehouse.id);
  const zones = loadStateZones();
  log.info("catalog import started", {
    products: productRecords.length,
    productsRejected: productMapping.rejected.length,
    categories: categoryRecords.length,
    categoriesRejected: categoryMapping.rejected.length,
    categoriesDerivedFromPaths: categoryMapping.derivedFromPaths,
    warehouses: storeRecords.length,
    warehousesRejected: warehouseMapping.rejected.length,
  });
  logRejections(log, "product", productMapping.rejected);
  logRejections(log, "category", categoryMapping.rejected);
  logRejections(log, "warehouse", warehouseMapping.rejected);

  const tracker = await ImportTracker.open(bridge, runId, options.phaseTimeoutMs ?? 120_000);
  try {
    // Categories and warehouses do not depend on each other, so their jobs run side by side.
    const [categoryProgress, warehouseProgress] = await Promise.all([
      tracker.runPhase("categories", chunk(categoryMapping.categories, options.categoryBatchSize ?? 250), (categories, header) => ({ ...header, categories })),
      tracker.runPhase("warehouses", chunk(warehouseMapping.warehouses, options.warehouseBatchSize ?? 200), (warehouses, header) => ({ ...header, warehouses })),
    ]);

    const productRows: ProductJobRow[] = productMapping.accepted.map((row) => ({ ...row, stock: stockForSku(row.sku, warehouseIds) }));
    const zoneIds = zones.map((zone) => zone.zoneId);
    const [productProgress, zoneProgress] = await Promise.all([
      tracker.runPhase("products", chunk(productRows, options.productBatchSize ?? 100), (products, header) => ({ ...header, products })),
      tracker.runPhase("zones", chunk(zoneIds, options.zoneBatchSize ?? 14), (batch, header) => ({ ...header, zoneIds: batch })),
    ]);
    const priceProgress = await tracker.runPhase("prices", [[]], (_rows, header) => ({ ...header, priceListId: PRICE_LIST_ID, currency: CURRENCY }));

    const sum = (list: ImportProgress[], field: "written" | "indexed" | "stockRows") => list.reduce((total, item) => total + item[field], 0);
    const failures = (list: ImportProgress[]) => list.flatMap((item) => item.failed);
    const notIndexed = (list: ImportProgress[]) => list.flatMap((item) => item.notIndexed);

    const productFailures = failures(productProgress);
    const categoryCounts = countCategories(categoryMapping, failures(categoryProgress), sum(categoryProgress, "written"), log);
    const warehouseFailures = withSourceIndex(failures(warehouseProgress), warehouseMapping.sourceIndexById);
    const warehouseNotIndexed = withSourceIndex(notIndexed(warehouseProgress), warehouseMapping.sourceIndexById);
    logRejections(log, "product", productFailures);
    logRejections(log, "category", [...categoryCounts.rejected, ...categoryCounts.derivedRejected]);
    logRejections(log, "warehouse", warehouseFailures);
    logNotIndexed(log, "product", notIndexed(productProgress));
    logNotIndexed(log, "warehouse", warehouseNotIndexed);
    const zoneCounts = countZones(zoneProgress, zoneIds, warehouseIds, failures(warehouseProgress));
    logNotIndexed(log, "zone", zoneCounts.notIndexed);
    if (zoneCounts.warehousesOutside.length > 0) {
      log.warn("warehouses outside every delivery zone", { count: zoneCounts.warehousesOutside.length, warehouseIds: zoneCounts.warehousesOutside.slice(0, 20) });
    }

    const report: ImportReport = {
      runId,
      tenantId,
      products: {
        records: productRecords.length,
        imported: sum(productProgress, "written"),
        rejected: [...productMapping.rejected, ...productFailures].sort((a, b) => a.index - b.index),
        indexed: sum(productProgress, "indexed"),
        notIndexed: notIndexed(productProgress),
        stockRows: sum(productProgress, "stockRows"),
      },
      categories: {
        records: categoryRecords.length,
        imported: categoryCounts.imported,
        rejected: [...categoryMapping.rejected, ...categoryCounts.rejected].sort((a, b) => a.index - b.index),
        derivedFromPaths: categoryCounts.derivedFromPaths,
        derivedRejected: categoryCounts.derivedRejected,
      },
      warehouses: {
        records: storeRecords.length,
        imported: sum(warehouseProgress, "written"),
        rejected: [...warehouseMapping.rejected, ...warehouseFailures].sort((a, b) => a.index - b.index),
        indexed: sum(warehouseProgress, "indexed"),
        notIndexed: warehouseNotIndexed,
      },
      zones: { records: zoneIds.length, ...zoneCounts },
      brands: new Set(productProgress.flatMap((item) => item.brands)).size,
      priceEntries: sum(priceProgress, "written"),
      elapsedMs: Math.round(performance.now() - startedAt),
    };
    log.info("catalog import finished", {
      productsImported: report.products.imported,
      productsRejected: report.products.rejected.length,
      categoriesImported: report.categories.imported,
      categoriesRejected: report.categories.rejected.length,
      categoriesDerivedFromPaths: report.categories.derivedFromPaths,
      warehousesImported: report.warehouses.imported,
      warehousesRejected: report.warehouses.rejected.length,
      zonesIndexed: report.zones.indexed,
      zonesWithWarehouses: report.zones.withWarehouses,
      elapsedMs: report.elapsedMs,
    });
    return report;
  } finally {
    await tracker.close();
  }
}

/**
 * Splits the categories the datastore wrote and rejected into records of
 * the file and parents derived from paths. Workers report failures by
 * category id, so every id of the mapping that is not among them was written.
 */
function countCategories(
  mapping: CategoryMapping,
  failures: Rejection[],
  written: number,
  log: Logger,
): { imported: number; rejected: Rejection[]; derivedFromPaths: number; derivedRejected: Rejection[] } {
  const located = withSourceIndex(failures, mapping.sourceIndexById);
  const rejected = located.filter((failure) => failure.index >= 0);
  const derivedRejected = located.filter((failure) => failure.index < 0);
  const imported = mapping.fromFile - rejected.length;
  const derivedFromPaths = mapping.derivedFromPaths - derivedRejected.length;

  if (imported + derivedFromPaths !== written) {
    log.warn("category counts disagree with the datastore", { imported, derivedFromPaths, writtenByDatastore: written });
  }
  return { imported, rejected, derivedFromPaths, derivedRejected };
}

/**
 * Adds up what the zone jobs reported. `warehousesOutside` lists the
 * warehouses of this run that the datastore stored but no indexed zone
 * lists, such as a store whose coordinates lie offshore.
 */
function countZones(
  progress: ImportProgress[],
  zoneIds: readonly string[],
  warehouseIds: readonly string[],
  warehouseFailures: readonly Rejection[],
): Omit<ImportReport["zones"], "records"> {
  const listed = new Map<string, string[]>();
  for (const item of progress) {
    for (const [zoneId, ids] of Object.entries(item.zoneWarehouses ?? {})) listed.set(zoneId, ids);
  }
  const zoneIndexById = new Map(zoneIds.map((zoneId, position) => [zoneId, position]));
  const notIndexed = withSourceIndex(progress.flatMap((item) => item.notIndexed), zoneIndexById);

  const inSomeZone = new Set([...listed.values()].flat());
  const notStored = new Set(warehouseFailures.map((failure) => String(failure.value)));
  return {
    indexed: progress.reduce((total, item) => total + item.indexed, 0),
    notIndexed,
    withWarehouses: [...listed.values()].filter((ids) => ids.length > 0).length,
    warehouseLinks: [...listed.values()].reduce((total, ids) => total + ids.length, 0),
    warehousesOutside: warehouseIds.filter((id) => !notStored.has(id) && !inSomeZone.has(id)),
  };
}

/** Writes one warning per rejected record, with its index in the source file (-1 for a category taken from a path) and the reason. */
function logRejections(log: Logger, kind: "product" | "category" | "warehouse", rejections: readonly Rejection[]): void {
  for (const rejection of rejections) {
    log.warn(`${kind} record rejected`, {
      index: rejection.index,
      reason: rejection.reason,
      ...(rejection.sku === undefined ? { value: rejection.value } : { sku: rejection.sku }),
      detail: rejection.message,
    });
  }
}

/** Writes one warning per record that was stored but is missing from the search index. */
function logNotIndexed(log: Logger, kind: "product" | "warehouse" | "zone", failures: readonly Rejection[]): void {
  for (const failure of failures) {
    log.warn(`${kind} record not indexed`, { index: failure.index, ...(failure.sku === undefined ? { value: failure.value } : { sku: failure.sku }), detail: failure.message });
  }
}

/** Replaces the batch position in worker-reported failures with the record's index in the source file, found by id. */
function withSourceIndex(failures: Rejection[], sourceIndexById: Map<string, number>): Rejection[] {
  return failures.map((failure) => ({ ...failure, index: sourceIndexById.get(String(failure.value)) ?? -1 }));
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) {
    throw new BridgeError(`Import batch size must be a whole number of at least 1, got ${size}`, { code: "VALIDATION_FAILED" });
  }
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

interface BatchHeaderFields {
  runId: string;
  batch: number;
  batches: number;
}

/**
 * Collects the progress notifications of one import run. Notifications are
 * broadcast, so this works when the workers run in another process. A job of
 * the run that lands in the dead-letter queue fails the phase at once.
 */
class ImportTracker {
  private readonly received = new Map<ImportKind, Map<number, ImportProgress>>();
  /** Phases waiting for the next notification; several run at once. */
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly bridge: Bridge,
    private readonly runId: string,
    private readonly timeoutMs: number,
    private subscription: NotificationSubscription | undefined = undefined,
  ) {}

  static async open(bridge: Bridge, runId: string, timeoutMs: number): Promise<ImportTracker> {
    const tracker = new ImportTracker(bridge, runId, timeoutMs);
    tracker.subscription = await bridge.notifications.subscribe<ImportProgress>(PROGRESS_EVENT, (notification) => {
      const progress = notification.payload;
      if (progress?.runId !== runId) return;
      let byBatch = tracker.received.get(progress.kind);
      if (byBatch === undefined) {
        byBatch = new Map();
        tracker.received.set(progress.kind, byBatch);
      }
      // A retried job may report twice; the batch number keeps the count exact.
      byBatch.set(progress.batch, progress);
      for (const wake of [...tracker.waiters]) wake();
    });
    return tracker;
  }

  /** Publishes one job per chunk on the kind's task and waits until every batch has reported. */
  async runPhase<T, P>(kind: ImportKind, chunks: T[][], toPayload: (chunk: T[], header: BatchHeaderFields) => P): Promise<ImportProgress[]> {
    const task = IMPORT_TASKS[kind];
    const batches = chunks.length;
    if (batches === 0) return [];

    const items: PublishBatchItem[] = chunks.map((rows, position) => ({
      task,
      payload: toPayload(rows, { runId: this.runId, batch: position + 1, batches }),
      options: { idempotencyKey: `${this.runId}:${kind}:${position + 1}` },
    }));
    await this.bridge.queue.publishBatch(items);

    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const done = this.received.get(kind);
      if (done !== undefined && done.size >= batches) return [...done.values()].sort((a, b) => a.batch - b.batch);

      const dead = (await this.bridge.queue.listDeadLetters(task)).filter((letter) => (letter.job?.payload as { runId?: string } | undefined)?.runId === this.runId);
      if (dead.length > 0) {
        const first = dead[0];
        throw new BridgeError(
          `Catalog import ${this.runId} failed: ${dead.length} ${kind} job(s) went to the dead-letter queue of ${task} (first: ${first?.reason}, ${first?.error?.message ?? "no error recorded"}). Fix the cause, then replay them with queue.replayDeadLetters("${task}")`,
          { code: "INTERNAL", role: "queue", details: { runId: this.runId, task, deadLetterIds: dead.map((letter) => letter.id) } },
        );
      }
      if (Date.now() > deadline) {
        throw new BridgeError(
          `Catalog import ${this.runId} timed out after ${this.timeoutMs} ms waiting for ${kind}: ${done?.size ?? 0} of ${batches} batches reported. Check that workers for ${task} are running`,
          { code: "TIMEOUT", role: "queue", retryable: true, details: { runId: this.runId, task } },
        );
      }
      await this.sleep(100);
    }
  }

  async close(): Promise<void> {
    await this.subscription?.close();
  }

  /** Waits for the next progress notification or `ms`, whichever comes first. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }
}
