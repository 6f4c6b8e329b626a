import { createBridgeFromEnv, runWithTenant, DEFAULT_TENANT, type Bridge, type Worker } from "@bridge/core";
import type { FastifyInstance } from "fastify";
import { importCatalog, type ImportOptions, type ImportReport } from "./catalog/import.js";
import { defineCatalogWorkers } from "./catalog/workers.js";
import { buildApp, type CatalogStatus } from "./http/app.js";
import { defineConfirmationWorker } from "./orders/confirmation.js";
import type { QuoteServiceOptions } from "./orders/quotes.js";

export interface ReferenceServiceOptions {
  /** A bridge built by the caller, in place of one from the environment. */
  bridge?: Bridge;
  quotes?: QuoteServiceOptions;
}

export interface ReferenceService {
  bridge: Bridge;
  app: FastifyInstance;
  workers: Worker[];
  catalog(): CatalogStatus;
  /** Starts the bridge and its workers. */
  start(): Promise<void>;
  /** Imports the catalogue into `tenantId` unless it already has products; returns null when it skipped. */
  ensureCatalog(options?: ImportOptions & { tenantId?: string }): Promise<ImportReport | null>;
  /** Imports the catalogue into the current tenant, whatever it holds. */
  importCatalog(options?: ImportOptions): Promise<ImportReport>;
  /** Closes the HTTP server, then drains the workers and closes the bridge. */
  stop(options?: { drainMs?: number }): Promise<void>;
}

/**
 * Composes the reference service from the environment: a bridge from
 * `BRIDGE_*` variables (embedded providers by default), the import and
 * confirmation workers, and the Fastify app. Nothing runs until `start()`.
 */
export async function createReferenceService(env: Record<string, string | undefined> = process.env, options: ReferenceServiceOptions = {}): Promise<ReferenceService> {
  const bridge = options.bridge ?? (await createBridgeFromEnv(env));
  const workers = [...defineCatalogWorkers(bridge), defineConfirmationWorker(bridge)];
  const log = bridge.logs.child({ source: "reference" });

  let status: CatalogStatus = { state: "unknown" };
  const app = buildApp({ bridge, catalog: () => status, ...(options.quotes === undefined ? {} : { quotes: options.quotes }) });

  const runImport = async (options: ImportOptions): Promise<ImportReport> => {
    status = { state: "importing" };
    try {
      const report = await importCatalog(bridge, options);
      status = { state: "ready", report };
      return report;
    } catch (error) {
      status = { state: "failed", error: (error as Error).message };
      log.error("catalog import failed", { err: error });
      throw error;
    }
  };

  return {
    bridge,
    app,
    workers,
    catalog: () => status,
    start: () => bridge.start(),
    importCatalog: runImport,
    async ensureCatalog(options = {}) {
      const tenantId = options.tenantId ?? DEFAULT_TENANT;
      return runWithTenant(tenantId, async () => {
        const existing = await bridge.data.datastore.products.count();
        if (existing > 0) {
          log.info("catalog already has products; import skipped", { tenantId, products: existing });
          status = { state: "ready" };
          return null;
        }
        return runImport(options);
      });
    },
    async stop(options = {}) {
      await app.close();
      await bridge.stop(options);
    },
  };
}
