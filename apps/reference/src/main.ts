import { isBridgeError } from "@bridge/core";
import { createReferenceService } from "./service.js";

/**
 * `pnpm start`: runs the HTTP API and the workers on the providers named by
 * `BRIDGE_*` (embedded by default), importing the bundled catalogue when the
 * default tenant has no products. PORT (default 3000) and HOST (default
 * 127.0.0.1) set where it listens.
 */
async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? "3000");
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`PORT must be a whole number from 0 to 65535, got ${JSON.stringify(process.env.PORT)}`);
  }
  const host = process.env.HOST ?? "127.0.0.1";

  const service = await createReferenceService(process.env);
  const log = service.bridge.logs.child({ source: "reference" });
  await service.start();
  const address = await service.app.listen({ port, host });
  log.info("reference service listening", { url: address, providers: service.bridge.providers });
  process.stdout.write(`Bridge reference service listening on ${address} (readiness: ${address}/readyz)\n`);

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn("second signal received; exiting without waiting for the drain", { signal });
      process.exit(1);
    }
    stopping = true;
    log.info("signal received; stopping", { signal });
    service
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        process.stderr.write(`Stopping failed: ${(error as Error).message}\n`);
        process.exit(1);
      });
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  // The server handles requests while the import runs, and /readyz returns 503 until it is done.
  service.ensureCatalog().then(
    (report) => {
      if (report === null) return;
      process.stdout.write(
        `Catalog imported: ${report.products.imported} products (${report.products.rejected.length} rejected), ` +
          `${report.categories.imported} categories (${report.categories.rejected.length} rejected, ${report.categories.derivedFromPaths} more derived from paths), ` +
          `${report.warehouses.imported} warehouses (${report.warehouses.rejected.length} rejected), ` +
          `${report.zones.indexed} delivery zones (${report.zones.withWarehouses} with warehouses) in ${report.elapsedMs} ms\n`,
      );
    },
    (error: unknown) => process.stderr.write(`Catalog import failed: ${(error as Error).message}\n`),
  );
}

main().catch((error: unknown) => {
  const message = isBridgeError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  process.stderr.write(`Reference service failed to start: ${message}\n`);
  process.exit(1);
});
