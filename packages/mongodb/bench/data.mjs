#!/usr/bin/env node
// `pnpm bench data --provider mongodb [--quick]`: reservations under
// contention and bulk product upserts, through Bridge and through the raw
// driver doing the same work, alternating in the same run. Prints one
// `BENCH {...}` line per measurement. Needs a server at MONGODB_URI
// (default mongodb://127.0.0.1:27017) and a build of this package.
import { randomUUID } from "node:crypto";
import { runWithTenant } from "@bridge/core";
import { MongoClient } from "mongodb";
import { mongodb } from "../dist/index.js";

const quick = process.argv.includes("--quick");
const uri = process.env.MONGODB_URI ?? "mongodb://127.0.0.1:27017";
const database = `bridge_bench_${randomUUID().slice(0, 8)}`;

// Sizes: each reservation round fires ATTEMPTS concurrent one-unit reservations at UNITS units.
// Raw upserts by SKU scan the collection on FerretDB 1.24 (about 25 rows/s here), so the bulk sizes stay small.
const ROUNDS = quick ? 3 : 5;
const UNITS = quick ? 50 : 100;
const ATTEMPTS = quick ? 150 : 400;
const BULK_ROWS = quick ? 60 : 300;
const BULK_CALL_ROWS = quick ? 60 : 100;

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {}, child: () => silent };

function percentile(values, fraction) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

function report(suite, measured) {
  const bridgeOpsPerSecond = measured.bridge.ops / (measured.bridge.ms / 1000);
  const rawOpsPerSecond = measured.raw.ops / (measured.raw.ms / 1000);
  const line = {
    suite,
    provider: "mongodb",
    ops: measured.bridge.ops,
    bridge_ops_per_s: Math.round(bridgeOpsPerSecond),
    raw_ops_per_s: Math.round(rawOpsPerSecond),
    ratio_vs_raw: Number((bridgeOpsPerSecond / rawOpsPerSecond).toFixed(3)),
    p50_ms: Number(percentile(measured.bridge.latencies, 0.5).toFixed(2)),
    p99_ms: Number(percentile(measured.bridge.latencies, 0.99).toFixed(2)),
    rss_mb: Math.round(process.memoryUsage().rss / 1_048_576),
    ...measured.extra,
  };
  process.stdout.write(`BENCH ${JSON.stringify(line)}\n`);
}

/** Runs `bridge` and `raw` once per round, swapping which goes first, and sums their counts and times. */
async function alternate(rounds, bridge, raw) {
  const totals = { bridge: { ops: 0, ms: 0, latencies: [] }, raw: { ops: 0, ms: 0, latencies: [] } };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [["bridge", bridge], ["raw", raw]] : [["raw", raw], ["bridge", bridge]];
    for (const [name, run] of order) {
      const started = performance.now();
      const result = await run(round);
      totals[name].ms += performance.now() - started;
      totals[name].ops += result.ops;
      totals[name].latencies.push(...result.latencies);
      if (result.oversold) totals[name].oversold = (totals[name].oversold ?? 0) + result.oversold;
    }
  }
  return totals;
}

async function timed(fn) {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

async function main() {
  const integration = mongodb({ uri, database });
  await integration.start({ logger: silent });
  const client = new MongoClient(uri);
  await client.connect();
  const db = client.db(database);
  const { inventory, datastore } = integration.modules.data;
  process.stderr.write(`server: ${JSON.stringify(integration.server)}, document locks: ${!integration.capabilities.atomicUpdates}\n`);

  try {
    // ---- reservations under contention
    const bridgeTenant = "bench-bridge";
    await runWithTenant(bridgeTenant, () => inventory.upsertWarehouse({ id: "wh-1", name: "Bench" }));
    const rawStock = db.collection("raw_inventory");
    const rawReservations = db.collection("raw_reservations");
    const rawMovements = db.collection("raw_stock_movements");

    const reservations = await alternate(
      ROUNDS,
      async (round) => {
        const sku = `RES-${round}`;
        await runWithTenant(bridgeTenant, () => inventory.setStock(sku, "wh-1", UNITS));
        const latencies = [];
        const results = await runWithTenant(bridgeTenant, () =>
          Promise.allSettled(
            Array.from({ length: ATTEMPTS }, async () => {
              const { ms } = await timed(() => inventory.reserve({ lines: [{ sku, quantity: 1 }] }).catch((error) => {
                if (error?.code !== "INSUFFICIENT_STOCK") throw error;
              }));
              latencies.push(ms);
            }),
          ),
        );
        const failed = results.filter((result) => result.status === "rejected");
        if (failed.length > 0) throw failed[0].reason;
        const level = await runWithTenant(bridgeTenant, () => inventory.getStock(sku, "wh-1"));
        return { ops: ATTEMPTS, latencies, oversold: Math.max(0, (level?.reserved ?? 0) - UNITS) };
      },
      async (round) => {
        // What an application would write with the driver: one conditional update per reservation, then its records.
        const key = `raw/RES-${round}/wh-1`;
        await rawStock.insertOne({ _id: key, sku: `RES-${round}`, warehouseId: "wh-1", onHand: UNITS, reserved: 0, available: UNITS, version: 1 });
        let granted = 0;
        const latencies = [];
        await Promise.all(
          Array.from({ length: ATTEMPTS }, async () => {
            const { ms } = await timed(async () => {
              const row = await rawStock.findOneAndUpdate({ _id: key, available: { $gte: 1 } }, { $inc: { available: -1, reserved: 1, version: 1 } });
              if (!row) return;
              granted += 1;
              const id = randomUUID();
              await rawReservations.insertOne({ _id: id, lines: [{ sku: `RES-${round}`, warehouseId: "wh-1", quantity: 1 }], status: "active" });
              await rawMovements.insertOne({ _id: randomUUID(), reservationId: id, sku: `RES-${round}`, kind: "reserve", reservedDelta: 1 });
            });
            latencies.push(ms);
          }),
        );
        return { ops: ATTEMPTS, latencies, oversold: Math.max(0, granted - UNITS) };
      },
    );
    report("data.reserve_contention", {
      ...reservations,
      extra: {
        units: UNITS,
        concurrent_attempts: ATTEMPTS,
        rounds: ROUNDS,
        bridge_oversold: reservations.bridge.oversold ?? 0,
        raw_oversold: reservations.raw.oversold ?? 0,
        server: integration.server?.kind,
      },
    });

    // ---- bulk product upserts: insert BULK_ROWS new products, then update all of them
    const productRows = (prefix, version) =>
      Array.from({ length: BULK_ROWS }, (_, n) => ({
        sku: `${prefix}-${n}`,
        title: `Bench product ${n} v${version}`,
        slug: `bench-product-${prefix.toLowerCase()}-${n}`,
        brand: "Bench",
        price: { amountMinor: 1000 + n + version, currency: "USD" },
        categoryIds: ["bench"],
        attributes: { version },
      }));
    const chunked = (rows) => Array.from({ length: Math.ceil(rows.length / BULK_CALL_ROWS) }, (_, n) => rows.slice(n * BULK_CALL_ROWS, (n + 1) * BULK_CALL_ROWS));
    const rawProducts = db.collection("raw_products");
    await rawProducts.createIndex({ tenantId: 1, sku: 1 }, { unique: true });

    const bulk = await alternate(
      ROUNDS,
      async (round) => {
        const latencies = [];
        const prefix = `B${round}`;
        for (const version of [1, 2]) {
          for (const rows of chunked(productRows(prefix, version))) {
            const { value, ms } = await timed(() => runWithTenant("bench-bulk", () => datastore.products.bulkUpsert(rows)));
            if (value.failed.length > 0) throw new Error(`bulk upsert failed rows: ${JSON.stringify(value.failed.slice(0, 3))}`);
            latencies.push(ms);
          }
        }
        return { ops: BULK_ROWS * 2, latencies };
      },
      async (round) => {
        // Upserts by SKU, in commands of at most 50 updates, which FerretDB 1.24 needs (see the provider's README).
        const latencies = [];
        const prefix = `R${round}`;
        for (const version of [1, 2]) {
          for (const rows of chunked(productRows(prefix, version))) {
            const { ms } = await timed(async () => {
              for (let start = 0; start < rows.length; start += 50) {
                const now = new Date().toISOString();
                await rawProducts.bulkWrite(
                  rows.slice(start, start + 50).map((row) => ({
                    updateOne: {
                      filter: { tenantId: "bench-bulk", sku: row.sku },
                      update: { $set: { ...row, updatedAt: now }, $setOnInsert: { id: randomUUID(), createdAt: now }, $inc: { version: 1 } },
                      upsert: true,
                    },
                  })),
                  { ordered: false },
                );
              }
            });
            latencies.push(ms);
          }
        }
        return { ops: BULK_ROWS * 2, latencies };
      },
    );
    report("data.bulk_upsert_products", {
      ...bulk,
      extra: { rows_per_round: BULK_ROWS * 2, rows_per_call: BULK_CALL_ROWS, latency_unit: `one call of ${BULK_CALL_ROWS} rows`, rounds: ROUNDS, server: integration.server?.kind },
    });
  } finally {
    await integration.stop({ deadlineMs: 5_000 });
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

main().catch((error) => {
  process.stderr.write(`bench data failed: ${error?.stack ?? error}\n`);
  process.exit(1);
});
