// Delivery zones on real state boundaries: which zone, and which warehouses,
// serve a street address's point.
import { randomBytes } from "node:crypto";
import { createMemorySearch, runWithTenant } from "@bridge/core";
import { describeWithService } from "@bridge/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadUsStateZones, US_STATE_ZONES_INDEX, type ZoneDocument } from "../src/index.js";
import { deleteIndexes, startIntegration } from "./helpers.js";
import { STORES } from "./zones.test.js";

/** Points of real street addresses, with the state each is in. */
const ADDRESSES = [
  { address: "Mall of America, 60 E Broadway, Bloomington, MN", point: { lat: 44.8549, lon: -93.2422 }, state: "Minnesota", warehouse: "1000" },
  { address: "Empire State Building, 20 W 34th St, New York, NY", point: { lat: 40.7484, lon: -73.9857 }, state: "New York" },
  { address: "Space Needle, 400 Broad St, Seattle, WA", point: { lat: 47.6205, lon: -122.3493 }, state: "Washington" },
  { address: "Ted Stevens Anchorage International Airport, AK", point: { lat: 61.1743, lon: -149.9982 }, state: "Alaska" },
  { address: "Iolani Palace, 364 S King St, Honolulu, HI", point: { lat: 21.3069, lon: -157.8583 }, state: "Hawaii" },
  { address: "White House, 1600 Pennsylvania Ave NW, Washington, DC", point: { lat: 38.8977, lon: -77.0365 }, state: "District of Columbia" },
];

describeWithService("opensearch", "opensearch delivery zones", () => {
  const prefix = `zx${randomBytes(4).toString("hex")}`;
  const zones = loadUsStateZones({ warehouses: STORES });
  let started: Awaited<ReturnType<typeof startIntegration>>;

  beforeAll(async () => {
    started = await startIntegration({ indexPrefix: prefix });
    await runWithTenant("t", async () => {
      await started.search.ensureIndex(US_STATE_ZONES_INDEX);
      const result = await started.search.bulkIndex(US_STATE_ZONES_INDEX.name, zones);
      expect(result.failed, "zones OpenSearch rejected").toEqual([]);
      await started.search.refresh(US_STATE_ZONES_INDEX.name);
    });
  });

  afterAll(async () => {
    await started?.integration.stop({ deadlineMs: 1_000 });
    await deleteIndexes(prefix);
  });

  it("indexes every zone", async () => {
    expect(await runWithTenant("t", () => started.search.count("zones"))).toBe(56);
  });

  it("names the state and its warehouses for an address", async () => {
    for (const { address, point, state, warehouse } of ADDRESSES) {
      const hits = await runWithTenant("t", () => started.search.shapesContaining<ZoneDocument>("zones", "geometry", point));
      expect(hits.map((hit) => hit.document.name), address).toEqual([state]);
      const served = hits[0]!.document.warehouse_ids;
      expect(served.length, `warehouses serving ${address}`).toBeGreaterThan(0);
      if (warehouse !== undefined) expect(served).toContain(warehouse);
    }
  });

  it("finds no zone at sea or abroad", async () => {
    await runWithTenant("t", async () => {
      expect(await started.search.shapesContaining("zones", "geometry", { lat: 35, lon: -40 })).toEqual([]);
      expect(await started.search.shapesContaining("zones", "geometry", { lat: 48.8566, lon: 2.3522 })).toEqual([]);
    });
  });

  it("agrees with the embedded search for every store", async () => {
    const memory = createMemorySearch();
    await runWithTenant("t", async () => {
      await memory.ensureIndex(US_STATE_ZONES_INDEX);
      await memory.bulkIndex("zones", zones);
      // Every 20th store keeps the case quick; each lookup is one request.
      for (const store of STORES.filter((_, position) => position % 20 === 0)) {
        const expected = (await memory.shapesContaining!("zones", "geometry", store.location)).map((hit) => hit.id);
        const actual = (await started.search.shapesContaining("zones", "geometry", store.location)).map((hit) => hit.id);
        expect(actual, `zone of store ${store.id} (${store.name}, ${store.state})`).toEqual(expected);
      }
    });
  });

  it("rejects a bad point or field", async () => {
    await runWithTenant("t", async () => {
      await expect(started.search.shapesContaining("zones", "geometry", { lat: 95, lon: 0 })).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
      await expect(started.search.shapesContaining("zones", "name", { lat: 45, lon: -93 })).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
    });
  });
});
