import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_TENANT, isBridgeError, readOutbox, runWithTenant, type Engagement } from "@bridge/core";
import type { LightMyRequestResponse } from "fastify";
import type { ImportSection } from "./catalog/import.js";
import { CONTRACT_CUSTOMER_ID, IMPORT_TASKS, VOLUME_BREAK } from "./catalog/jobs.js";
import { CONFIRMATION_TASK } from "./orders/confirmation.js";
import { createReferenceService, type ReferenceService } from "./service.js";

/**
 * `pnpm demo`: one scripted B2B order on the real data, in one process and
 * through the same HTTP routes as `pnpm start` (called with `app.inject`).
 * Each step prints one line; the last line is `DEMO_SUMMARY {...}`. Any
 * failed check exits with status 1.
 */

const SEARCH_QUERY = "Samsung";
const MINNEAPOLIS = { lat: 44.9778, lon: -93.265 };
const RADIUS_KM = 25;
/** The Mall of America, 60 E Broadway, Bloomington, MN: a real address point for the delivery-zone lookup. */
const ADDRESS_POINT = { label: "Mall of America, Bloomington MN", lat: 44.8549, lon: -93.2422 };
const ADDRESS_STATE = "Minnesota";
const BUYER_EMAIL = "purchasing@northwind.example.com";

class DemoFailure extends Error {}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new DemoFailure(message);
}

function step(text: string): void {
  process.stdout.write(`- ${text}\n`);
}

async function call(service: ReferenceService, method: "GET" | "POST", url: string, payload?: unknown): Promise<LightMyRequestResponse> {
  const response = await service.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  return response;
}

async function expectOk<T>(service: ReferenceService, method: "GET" | "POST", url: string, payload?: unknown): Promise<T> {
  const response = await call(service, method, url, payload);
  check(response.statusCode < 300, `${method} ${url} returned ${response.statusCode}: ${response.body}`);
  return response.json() as T;
}

interface SearchAnswer {
  total: number;
  hits: Array<{ sku: string; title: string; price: { amountMinor: number }; inStock: boolean }>;
  facets: { brand: Array<{ value: string; count: number }>; category: Array<{ value: string; count: number }> };
}

interface ZonesAnswer {
  total: number;
  zones: Array<{ zoneId: string; name: string; warehouses: Array<{ id: string; name: string | null }> }>;
}

interface ProductAnswer {
  product: { sku: string; title: string };
  availability: { available: number; byWarehouse: Array<{ warehouseId: string; available: number }> };
}

async function runDemo(): Promise<void> {
  const startedAt = performance.now();
  const runDir = fileURLToPath(new URL(`../var/demo-${new Date().toISOString().replace(/[:.]/g, "-")}/`, import.meta.url));
  const outboxDir = join(runDir, "outbox");
  await mkdir(outboxDir, { recursive: true });

  const service = await createReferenceService({
    ...process.env,
    BRIDGE_OUTBOX_DIR: outboxDir,
    // Warnings and errors still reach stderr; info lines would bury the demo's own output.
    BRIDGE_LOG_LEVEL: process.env.BRIDGE_LOG_LEVEL ?? "warn",
  });
  await service.start();

  try {
    await runWithTenant(DEFAULT_TENANT, () => scenario(service, outboxDir, startedAt));
  } finally {
    await service.stop({ drainMs: 5_000 });
  }
}

async function scenario(service: ReferenceService, outboxDir: string, startedAt: number): Promise<void> {
  const { bridge } = service;
  step(`providers: ${JSON.stringify(bridge.providers)}; outbox: ${outboxDir}`);

  const report = await service.importCatalog();
  checkAccounted("products", report.products);
  checkAccounted("categories", report.categories);
  checkAccounted("warehouses", report.warehouses);
  check(report.products.imported > 0, "no product was imported");
  check(report.categories.derivedRejected.length === 0, `${report.categories.derivedRejected.length} categories taken from paths were rejected by the datastore`);
  step(
    `imported ${report.products.imported} products (${report.products.rejected.length} rejected), ` +
      `${report.categories.imported} categories (${report.categories.rejected.length} rejected, ${report.categories.derivedFromPaths} more derived from paths), ` +
      `${report.warehouses.imported} warehouses (${report.warehouses.rejected.length} rejected), ${report.products.stockRows} stock rows, ` +
      `${report.priceEntries} price entries, ${report.zones.indexed} delivery zones (${report.zones.withWarehouses} with warehouses) in ${report.elapsedMs} ms`,
  );
  check(report.zones.indexed === report.zones.records, `${report.zones.indexed} of ${report.zones.records} delivery zones were indexed: ${JSON.stringify(report.zones.notIndexed.slice(0, 3))}`);
  for (const [kind, section] of [["product", report.products], ["category", report.categories], ["warehouse", report.warehouses]] as const) {
    for (const rejection of section.rejected.slice(0, 5)) step(`  rejected ${kind} record ${rejection.index}: ${rejection.reason} (${rejection.message})`);
  }

  const ready = await call(service, "GET", "/readyz");
  check(ready.statusCode === 200, `/readyz returned ${ready.statusCode} after the import: ${ready.body}`);

  const search = await expectOk<SearchAnswer>(service, "GET", `/api/products/search?q=${encodeURIComponent(SEARCH_QUERY)}&pageSize=10&facetSize=500`);
  check(search.total > 0, `search for "${SEARCH_QUERY}" found nothing`);
  check(search.facets.brand.length > 0, "search returned no brand facet");
  const topBrand = search.facets.brand[0];
  step(`search "${SEARCH_QUERY}": ${search.total} hits, ${search.facets.brand.length} brands (top: ${topBrand?.value} ${topBrand?.count}), ${search.facets.category.length} categories`);

  const filtered = await expectOk<SearchAnswer>(service, "GET", `/api/products/search?q=${encodeURIComponent(SEARCH_QUERY)}&brand=${encodeURIComponent(topBrand?.value ?? "")}&minPrice=10&maxPrice=100`);
  check(filtered.total > 0 && filtered.total <= search.total, `brand and price filter returned ${filtered.total} of ${search.total} hits`);
  check(
    filtered.hits.every((hit) => hit.price.amountMinor >= 1000 && hit.price.amountMinor <= 10000),
    "a hit of the $10-$100 filter is outside that price range",
  );
  step(`filter brand=${topBrand?.value}, $10-$100: ${filtered.total} hits`);

  const suggestions = await expectOk<{ suggestions: string[] }>(service, "GET", "/api/products/autocomplete?prefix=iph");
  step(`autocomplete "iph": ${suggestions.suggestions.slice(0, 3).join(" | ")}`);

  const near = await expectOk<{ total: number; warehouses: Array<{ name: string; distanceKm: number | null }> }>(
    service,
    "GET",
    `/api/warehouses/near?lat=${MINNEAPOLIS.lat}&lon=${MINNEAPOLIS.lon}&radiusKm=${RADIUS_KM}`,
  );
  check(near.warehouses.length > 0, `no warehouse within ${RADIUS_KM} km of Minneapolis`);
  step(`warehouses within ${RADIUS_KM} km of Minneapolis: ${near.total} (nearest: ${near.warehouses[0]?.name}, ${near.warehouses[0]?.distanceKm} km)`);

  const containing = await expectOk<ZonesAnswer>(service, "GET", `/api/zones/containing?lat=${ADDRESS_POINT.lat}&lon=${ADDRESS_POINT.lon}`);
  const zone = containing.zones[0];
  check(containing.total === 1 && zone?.name === ADDRESS_STATE, `expected the ${ADDRESS_POINT.label} in the ${ADDRESS_STATE} zone alone, got ${JSON.stringify(containing.zones.map((found) => found.name))}`);
  check(zone.warehouses.length > 0, `no warehouse serves the ${ADDRESS_STATE} zone`);
  check(zone.warehouses.every((warehouse) => warehouse.name !== null), `a warehouse of the ${ADDRESS_STATE} zone is missing from the data role`);
  step(`delivery zone of the ${ADDRESS_POINT.label}: ${zone.name} (${zone.zoneId}), served by ${zone.warehouses.length} warehouses (first: ${zone.warehouses[0]?.name})`);

  // Two in-stock products of the search: the first ordered at the volume break, the second as a single unit.
  const picks: Array<{ sku: string; quantity: number }> = [];
  for (const hit of search.hits.filter((candidate) => candidate.inStock)) {
    const detail = await expectOk<ProductAnswer>(service, "GET", `/api/products/${hit.sku}`);
    const bestWarehouse = Math.max(0, ...detail.availability.byWarehouse.map((level) => level.available));
    const quantity = picks.length === 0 ? VOLUME_BREAK.minQuantity : 1;
    if (bestWarehouse >= quantity) picks.push({ sku: hit.sku, quantity });
    if (picks.length === 2) break;
  }
  check(picks.length === 2, `found ${picks.length} of the 2 in-stock products the order needs`);

  let quote = await expectOk<Engagement>(service, "POST", "/api/quotes", { customerId: CONTRACT_CUSTOMER_ID, email: BUYER_EMAIL });
  for (const pick of picks) quote = await expectOk<Engagement>(service, "POST", `/api/quotes/${quote.id}/lines`, pick);
  quote = await expectOk<Engagement>(service, "POST", `/api/quotes/${quote.id}/price`);
  check(quote.status === "active" && quote.pricing !== null, `priced quote has status ${quote.status}`);
  check(quote.pricing.totalMinor > 0 && quote.pricing.discountMinor > 0, `expected a volume and contract discount, got ${JSON.stringify(quote.pricing)}`);
  step(`quote ${quote.id}: ${picks.map((pick) => `${pick.quantity} x ${pick.sku}`).join(", ")}, total ${quote.pricing.totalMinor} minor units (discount ${quote.pricing.discountMinor})`);

  quote = await expectOk<Engagement>(service, "POST", `/api/quotes/${quote.id}/submit`);
  check(quote.status === "processing", `submitted quote has status ${quote.status}`);
  quote = await expectOk<Engagement>(service, "POST", `/api/quotes/${quote.id}/confirm`);
  check(quote.status === "confirmed", `confirmed quote has status ${quote.status}`);
  step(`order ${String(quote.attributes.orderNumber)} confirmed; reservation ${quote.fulfillment?.reservationId} committed`);

  const emailDir = join(outboxDir, "email");
  await waitFor(async () => (await readOutbox(emailDir)).length >= 1, "the order confirmation email");

  // A second delivery of the confirmation job, as after a crash, must not send a second email.
  await bridge.queue.publish(CONFIRMATION_TASK, { engagementId: quote.id });
  await waitFor(async () => {
    const stats = await bridge.queue.stats(CONFIRMATION_TASK);
    return stats.depth === 0 && stats.inFlight === 0;
  }, "the repeated confirmation job");
  const emails = await readOutbox(emailDir);
  check(emails.length === 1, `expected exactly 1 email in the outbox after a repeated job, found ${emails.length}`);
  const email = emails[0];
  check(email?.kind === "email", `the outbox record is ${email?.kind}, not an email`);
  step(`confirmation email "${email.subject}" to ${email.to.join(", ")} is in the outbox; the repeated job sent no second one`);

  const order = await expectOk<Engagement>(service, "GET", `/api/quotes/${quote.id}`);
  const tasks = [...Object.values(IMPORT_TASKS), CONFIRMATION_TASK];
  const deadLetters = (await Promise.all(tasks.map((task) => bridge.queue.listDeadLetters(task)))).flat();
  check(deadLetters.length === 0, `${deadLetters.length} job(s) are in dead-letter queues: ${JSON.stringify(deadLetters.map((letter) => [letter.task, letter.reason]))}`);

  const summary = {
    products_imported: report.products.imported,
    products_rejected: report.products.rejected.length,
    categories_imported: report.categories.imported,
    categories_rejected: report.categories.rejected.length,
    categories_derived_from_paths: report.categories.derivedFromPaths,
    warehouses_imported: report.warehouses.imported,
    warehouses_rejected: report.warehouses.rejected.length,
    zones_indexed: report.zones.indexed,
    search_query: SEARCH_QUERY,
    search_hits: search.total,
    facet_brands: search.facets.brand.length,
    warehouses_near: near.total,
    zone_state: zone.name,
    zone_warehouses: zone.warehouses.length,
    order_status: order.status,
    order_total_minor: order.pricing?.totalMinor ?? 0,
    emails_in_outbox: emails.length,
    dead_letters: deadLetters.length,
    providers: Object.fromEntries(Object.entries(bridge.providers).map(([role, names]) => [role, names.length === 0 ? "none" : names.join(",")])),
    elapsed_ms: Math.round(performance.now() - startedAt),
  };
  process.stdout.write(`DEMO_SUMMARY ${JSON.stringify(summary)}\n`);
}

/** Checks that every record of a source file was either imported or rejected, none lost or counted twice. */
function checkAccounted(kind: string, section: ImportSection): void {
  check(
    section.imported + section.rejected.length === section.records,
    `imported (${section.imported}) plus rejected (${section.rejected.length}) ${kind} must equal the ${section.records} records in the file`,
  );
}

/** Polls `condition` every 25 ms for up to 10 s. */
async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    check(Date.now() < deadline, `timed out after 10 s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

runDemo().then(
  () => process.exit(0),
  (error: unknown) => {
    let message: string;
    if (error instanceof DemoFailure) message = `check failed: ${error.message}`;
    else if (isBridgeError(error)) message = `${error.code}: ${error.message}`;
    else if (error instanceof Error) message = error.stack ?? error.message;
    else message = String(error);
    process.stderr.write(`DEMO_FAILED ${message}\n`);
    process.exit(1);
  },
);
