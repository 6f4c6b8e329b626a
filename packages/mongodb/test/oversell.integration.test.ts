// 1,000 concurrent reservations on 10 units through the provider, spread over
// four integrations with their own connection pools, as four app processes
// would be: exactly 10 succeed and stock never goes below zero, also while
// the reservations run.
import { isBridgeError, runWithTenant, type InventoryModule, type Reservation } from "@bridge/core";
import { describeWithService } from "@bridge/testkit";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, expect, it } from "vitest";
import { mongodb, type MongoIntegration } from "../src/index.js";
import { dropDatabase, startIntegration, testDatabase } from "./helpers.js";

const RESERVATIONS = 1_000;
const UNITS = 10;
const INSTANCES = 4;

describeWithService("mongodb", "oversell", (service) => {
  const database = testDatabase("oversell");
  const integrations: MongoIntegration[] = [];
  let raw: MongoClient;

  beforeAll(async () => {
    for (let n = 0; n < INSTANCES; n++) {
      integrations.push(await startIntegration(mongodb({ uri: service.url, database, maxPoolSize: 10 })));
    }
    raw = new MongoClient(service.url);
    await raw.connect();
  });

  afterAll(async () => {
    for (const integration of integrations) await integration.stop({ deadlineMs: 5_000 });
    await raw.close();
    await dropDatabase(service.url, database);
  });

  /** Reads the stored stock rows of `sku` repeatedly until `done` resolves and returns every row it saw. */
  async function watchStock(tenantId: string, sku: string, done: Promise<unknown>): Promise<Array<Record<string, number>>> {
    const seen: Array<Record<string, number>> = [];
    let finished = false;
    void done.finally(() => {
      finished = true;
    });
    while (!finished) {
      const rows = await raw.db(database).collection("inventory").find({ tenantId, sku }).toArray();
      for (const row of rows) seen.push({ onHand: row.onHand, reserved: row.reserved, available: row.available });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return seen;
  }

  function inventoryOf(index: number): InventoryModule {
    return (integrations[index % INSTANCES] as MongoIntegration).modules.data.inventory;
  }

  it(`${RESERVATIONS} concurrent reservations leave exactly ${UNITS} reserved`, { timeout: 120_000 }, async () => {
    const tenantId = "oversell-single";
    await runWithTenant(tenantId, async () => {
      await inventoryOf(0).upsertWarehouse({ id: "wh-1", name: "Main" });
      await inventoryOf(0).setStock("PHONE", "wh-1", UNITS);
    });

    const attempts = runWithTenant(tenantId, () =>
      Promise.allSettled(Array.from({ length: RESERVATIONS }, (_, n) => inventoryOf(n).reserve({ lines: [{ sku: "PHONE", quantity: 1 }] }))),
    );
    const [results, seen] = await Promise.all([attempts, watchStock(tenantId, "PHONE", attempts)]);

    const reserved = results.filter((result): result is PromiseFulfilledResult<Reservation> => result.status === "fulfilled");
    expect(reserved).toHaveLength(UNITS);
    const others = results.filter((result) => result.status === "rejected" && !isBridgeError(result.reason, "INSUFFICIENT_STOCK"));
    expect(others.map((result) => String((result as PromiseRejectedResult).reason)), "rejections other than INSUFFICIENT_STOCK").toEqual([]);

    for (const row of seen) {
      expect(row.available, "available stock while reserving").toBeGreaterThanOrEqual(0);
      expect(row.reserved, "reserved stock while reserving").toBeLessThanOrEqual(row.onHand as number);
      expect(row.available).toBe((row.onHand as number) - (row.reserved as number));
    }
    await runWithTenant(tenantId, async () => {
      expect(await inventoryOf(1).availability("PHONE")).toMatchObject({ onHand: UNITS, reserved: UNITS, available: 0 });
      const ledger = await inventoryOf(2).movements("PHONE");
      expect(ledger.filter((movement) => movement.kind === "reserve")).toHaveLength(UNITS);
      const ids = new Set(reserved.map((result) => result.value.id));
      expect(ids.size).toBe(UNITS);
      for (const id of ids) expect((await inventoryOf(3).getReservation(id))?.status).toBe("active");
    });
  });

  it("concurrent two-line reservations stay all or nothing", { timeout: 120_000 }, async () => {
    const tenantId = "oversell-lines";
    await runWithTenant(tenantId, async () => {
      await inventoryOf(0).upsertWarehouse({ id: "wh-1", name: "Main" });
      await inventoryOf(0).setStock("PHONE", "wh-1", 20);
      await inventoryOf(0).setStock("CASE", "wh-1", UNITS);
    });

    const results = await runWithTenant(tenantId, () =>
      Promise.allSettled(
        Array.from({ length: 200 }, (_, n) =>
          inventoryOf(n).reserve({
            lines: [
              { sku: "PHONE", quantity: 1 },
              { sku: "CASE", quantity: 1 },
            ],
          }),
        ),
      ),
    );

    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(UNITS);
    await runWithTenant(tenantId, async () => {
      expect(await inventoryOf(1).availability("CASE")).toMatchObject({ onHand: UNITS, reserved: UNITS, available: 0 });
      // Every PHONE held by a request whose CASE line failed was given back.
      expect(await inventoryOf(2).availability("PHONE")).toMatchObject({ onHand: 20, reserved: UNITS, available: 20 - UNITS });
    });
  });
});
