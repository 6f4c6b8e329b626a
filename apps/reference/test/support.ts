import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SOURCE_FILES, readRecords } from "../src/catalog/source.js";
import type { ImportReport } from "../src/catalog/import.js";
import { createReferenceService, type ReferenceService } from "../src/service.js";

export interface TestService {
  service: ReferenceService;
  report: ImportReport;
  /** The first `productCount` records of the bundled product file. */
  products: Array<Record<string, unknown>>;
  outboxDir: string;
  close(): Promise<void>;
}

/**
 * Starts the service on embedded providers with a fresh outbox folder and
 * imports a slice of the real products with the full category tree and all
 * stores, into the default tenant.
 */
export async function startWithSlice(productCount: number): Promise<TestService> {
  const outboxDir = await mkdtemp(join(tmpdir(), "bridge-reference-"));
  const service = await createReferenceService({ BRIDGE_OUTBOX_DIR: outboxDir, BRIDGE_LOG_STDERR: "false", BRIDGE_LOG_LEVEL: "warn" });
  await service.start();

  const products = (await readRecords(DEFAULT_SOURCE_FILES.products)).slice(0, productCount) as Array<Record<string, unknown>>;
  const report = await service.importCatalog({ records: { products } });

  return {
    service,
    report,
    products,
    outboxDir,
    async close() {
      await service.stop({ drainMs: 2_000 });
      await rm(outboxDir, { recursive: true, force: true });
    },
  };
}

/** Extracts the SKU from a product record's image file name. */
export function skuOf(record: Record<string, unknown>): string {
  const match = /\/(\d+)[^/]*$/.exec(String(record.image));
  if (match?.[1] === undefined) throw new Error(`record has no SKU in its image: ${String(record.image)}`);
  return match[1];
}

/** Polls `condition` every 20 ms for up to 5 s. */
export async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
