import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkGeoShape, runWithTenant, type Bridge, type GeoShape, type SearchRole } from "@bridge/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImportReport } from "../src/catalog/import.js";
import { DEFAULT_SOURCE_FILES, readRecords } from "../src/catalog/source.js";
import { loadStateZones, warehousesInZone, zoneDocument, type StateZone } from "../src/catalog/zones.js";
import { buildApp } from "../src/http/app.js";
import type { ZoneAnswer } from "../src/http/zones.js";
import { createReferenceService, type ReferenceService } from "../src/service.js";

const MINNEAPOLIS = { lat: 44.9778, lon: -93.265 };
const CHICAGO = { lat: 41.8781, lon: -87.6298 };
const MALL_OF_AMERICA = { lat: 44.8549, lon: -93.2422 };
/** Open Atlantic, about 2,000 km east of Florida. */
const ATLANTIC = { lat: 30, lon: -60 };

interface StoreRecord {
  id: number;
  state: string;
  location: { lat: number; lon: number };
}

function zoneById(zoneId: string): StateZone {
  const zone = loadStateZones().find((candidate) => candidate.zoneId === zoneId);
  if (zone === undefined) throw new Error(`no zone ${zoneId}`);
  return zone;
}

function contains(zone: StateZone, point: { lat: number; lon: number }): boolean {
  return warehousesInZone(zone, [{ id: "probe", location: point }]).length === 1;
}

/** Twice the signed area of a closed ring: positive when counterclockwise. */
function doubledArea(ring: number[][]): number {
  let area = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1 = 0, y1 = 0] = ring[i] ?? [];
    const [x2 = 0, y2 = 0] = ring[i + 1] ?? [];
    area += x1 * y2 - x2 * y1;
  }
  return area;
}

function polygonsOf(shape: GeoShape): number[][][][] {
  return shape.type === "Polygon" ? [shape.coordinates] : shape.coordinates;
}

describe("state zone loader", () => {
  it("loads 56 zones with unique ids", () => {
    const zones = loadStateZones();

    expect(zones).toHaveLength(56);
    expect(new Set(zones.map((zone) => zone.zoneId)).size).toBe(56);
    expect(new Set(zones.map((zone) => zone.fips)).size).toBe(56);
    expect(zoneById("MN")).toMatchObject({ name: "Minnesota", fips: "27" });
    expect(zoneById("DC")).toMatchObject({ name: "District of Columbia", fips: "11" });
    expect(zoneById("PR")).toMatchObject({ name: "Puerto Rico", fips: "72" });
  });

  it("builds valid GeoJSON with RFC 7946 ring order", () => {
    for (const zone of loadStateZones()) {
      expect(checkGeoShape(zone.geometry), zone.zoneId).toBeUndefined();
      for (const [exterior, ...holes] of polygonsOf(zone.geometry)) {
        expect(doubledArea(exterior ?? []), `${zone.zoneId} exterior`).toBeGreaterThan(0);
        for (const hole of holes) expect(doubledArea(hole), `${zone.zoneId} hole`).toBeLessThan(0);
      }
    }
  });

  it("puts Minneapolis in Minnesota, not Chicago", () => {
    const minnesota = zoneById("MN");
    const illinois = zoneById("IL");

    expect(contains(minnesota, MINNEAPOLIS)).toBe(true);
    expect(contains(minnesota, CHICAGO)).toBe(false);
    expect(contains(illinois, CHICAGO)).toBe(true);
    expect(contains(illinois, MINNEAPOLIS)).toBe(false);
  });

  it("lists the warehouses inside a zone", () => {
    const warehouses = [
      { id: "store-minneapolis", location: MINNEAPOLIS },
      { id: "store-chicago", location: CHICAGO },
      { id: "store-bloomington", location: MALL_OF_AMERICA },
    ];

    const document = zoneDocument(zoneById("MN"), warehouses);

    expect(document).toMatchObject({ id: "MN", zone_id: "MN", name: "Minnesota", fips: "27" });
    expect(document.warehouse_ids).toEqual(["store-minneapolis", "store-bloomington"]);
  });

  it("places real stores in their address state", async () => {
    const stores = (await readRecords(DEFAULT_SOURCE_FILES.stores)) as StoreRecord[];
    const zones = loadStateZones();

    const mismatches: Array<[number, string, string[]]> = [];
    for (const store of stores) {
      const found = zones.filter((zone) => contains(zone, store.location)).map((zone) => zone.zoneId);
      if (found.length !== 1 || found[0] !== store.state) mismatches.push([store.id, store.state, found]);
    }

    // Store 1536 (Jonesboro, AR) has coordinates in Pennsylvania in the source data.
    // Store 868 (West Lebanon, NH) is near the Connecticut River border, which the simplified boundaries shift.
    expect(mismatches.sort((a, b) => a[0] - b[0])).toEqual([
      [868, "NH", ["VT"]],
      [1536, "AR", ["PA"]],
    ]);
  });
});

describe("GET /api/zones/containing", () => {
  let service: ReferenceService;
  let report: ImportReport;
  let outboxDir: string;

  beforeAll(async () => {
    outboxDir = await mkdtemp(join(tmpdir(), "bridge-reference-zones-"));
    service = await createReferenceService({ BRIDGE_OUTBOX_DIR: outboxDir, BRIDGE_LOG_STDERR: "false", BRIDGE_LOG_LEVEL: "error" });
    await service.start();
    // All stores and no products or categories: zones need only the warehouses.
    report = await service.importCatalog({ records: { products: [], categories: [] } });
  });

  afterAll(async () => {
    await service?.stop({ drainMs: 2_000 });
    await rm(outboxDir, { recursive: true, force: true });
  });

  async function get<T>(url: string, tenantId?: string): Promise<{ status: number; body: T }> {
    const response = await service.app.inject({ method: "GET", url, ...(tenantId === undefined ? {} : { headers: { "x-tenant-id": tenantId } }) });
    return { status: response.statusCode, body: response.json() as T };
  }

  it("reports zone counts in the import", () => {
    expect(report.zones.records).toBe(56);
    expect(report.zones.indexed).toBe(56);
    expect(report.zones.notIndexed).toEqual([]);
    // No store lies on a border, so each is listed by exactly one zone.
    expect(report.zones.warehouseLinks).toBe(report.warehouses.imported);
    expect(report.zones.warehousesOutside).toEqual([]);
    // American Samoa, Guam, the Northern Mariana Islands and the US Virgin Islands have no store.
    expect(report.zones.withWarehouses).toBe(52);
  });

  it("finds Minnesota with its warehouses", async () => {
    const { status, body } = await get<{ point: unknown; total: number; zones: ZoneAnswer[] }>(`/api/zones/containing?lat=${MALL_OF_AMERICA.lat}&lon=${MALL_OF_AMERICA.lon}`);

    expect(status).toBe(200);
    expect(body.point).toEqual(MALL_OF_AMERICA);
    expect(body.total).toBe(1);
    const [zone] = body.zones;
    expect(zone).toMatchObject({ zoneId: "MN", name: "Minnesota", fips: "27" });
    expect(zone?.warehouses.length).toBeGreaterThan(0);
    for (const warehouse of zone?.warehouses ?? []) {
      expect(warehouse.id).toMatch(/^store-\d+$/);
      expect(warehouse.name).toEqual(expect.any(String));
      expect(warehouse.state).toBe("MN");
    }
  });

  it("lists the same warehouses as the data role", async () => {
    const { body } = await get<{ zones: ZoneAnswer[] }>(`/api/zones/containing?lat=${CHICAGO.lat}&lon=${CHICAGO.lon}`);

    const stored = await runWithTenant("default", async () => {
      const first = await service.bridge.data.inventory.listWarehouses({ limit: 1_000 });
      const second = await service.bridge.data.inventory.listWarehouses({ limit: 1_000, cursor: first.nextCursor });
      return [...first.items, ...second.items];
    });
    expect(stored).toHaveLength(report.warehouses.imported);
    const inIllinois = stored.filter((warehouse) => warehouse.location !== null && contains(zoneById("IL"), warehouse.location)).map((warehouse) => warehouse.id);
    expect(body.zones.map((zone) => zone.zoneId)).toEqual(["IL"]);
    expect(body.zones[0]?.warehouses.map((warehouse) => warehouse.id).sort()).toEqual(inIllinois.sort());
  });

  it("returns no zone for a point at sea", async () => {
    const { status, body } = await get<{ total: number; zones: ZoneAnswer[] }>(`/api/zones/containing?lat=${ATLANTIC.lat}&lon=${ATLANTIC.lon}`);

    expect(status).toBe(200);
    expect(body.total).toBe(0);
    expect(body.zones).toEqual([]);
  });

  it("returns no zone for a tenant without an import", async () => {
    const { status, body } = await get<{ zones: ZoneAnswer[] }>(`/api/zones/containing?lat=${MINNEAPOLIS.lat}&lon=${MINNEAPOLIS.lon}`, "zones-never-imported");

    expect(status).toBe(200);
    expect(body.zones).toEqual([]);
  });

  it("keeps each tenant's warehouses apart", async () => {
    const tenantId = "zones-other-tenant";
    const stores = [
      { id: 9101, name: "Loop Depot", city: "Chicago", state: "IL", location: CHICAGO },
      { id: 9102, name: "Floating Depot", location: ATLANTIC },
    ];
    const otherReport = await runWithTenant(tenantId, () => service.importCatalog({ records: { products: [], categories: [], stores } }));

    expect(otherReport.zones.indexed).toBe(56);
    expect(otherReport.zones.withWarehouses).toBe(1);
    expect(otherReport.zones.warehousesOutside).toEqual(["store-9102"]);

    const other = await get<{ zones: ZoneAnswer[] }>(`/api/zones/containing?lat=${CHICAGO.lat}&lon=${CHICAGO.lon}`, tenantId);
    expect(other.body.zones).toEqual([{ zoneId: "IL", name: "Illinois", fips: "17", warehouses: [{ id: "store-9101", name: "Loop Depot", city: "Chicago", state: "IL" }] }]);

    const defaultTenant = await get<{ zones: ZoneAnswer[] }>(`/api/zones/containing?lat=${CHICAGO.lat}&lon=${CHICAGO.lon}`);
    const defaultIds = defaultTenant.body.zones[0]?.warehouses.map((warehouse) => warehouse.id) ?? [];
    expect(defaultIds.length).toBeGreaterThan(1);
    expect(defaultIds).not.toContain("store-9101");
  });

  const badInput: Array<[string, string, string[]]> = [
    ["no parameters", "", ["query.lat: is required", "query.lon: is required"]],
    ["missing lat", "?lon=-93.2", ["query.lat: is required"]],
    ["missing lon", "?lat=44.8", ["query.lon: is required"]],
    ["empty lat", "?lat=&lon=-93.2", ['query.lat: expected a latitude in degrees from -90 to 90 (got "")']],
    ["text for lat", "?lat=north&lon=-93.2", ['query.lat: expected a latitude in degrees from -90 to 90 (got "north")']],
    ["lat above 90", "?lat=90.5&lon=-93.2", ['query.lat: expected a latitude in degrees from -90 to 90 (got "90.5")']],
    ["lon below -180", "?lat=44.8&lon=-181", ['query.lon: expected a longitude in degrees from -180 to 180 (got "-181")']],
    ["exponent notation", "?lat=4e1&lon=-93.2", ['query.lat: expected a latitude in degrees from -90 to 90 (got "4e1")']],
    ["repeated lat", "?lat=44.8&lat=45&lon=-93.2", ["query.lat: expected a single value"]],
  ];

  it.each(badInput)("rejects %s with 400", async (_case, queryString, messages) => {
    const { status, body } = await get<{ error: { code: string; message: string } }>(`/api/zones/containing${queryString}`);

    expect(status).toBe(400);
    expect(body.error.code).toBe("VALIDATION_FAILED");
    for (const message of messages) expect(body.error.message).toContain(message);
  });

  it("answers 501 when the search provider has no shape queries", async () => {
    const search: SearchRole = { ...service.bridge.search, capabilities: { ...service.bridge.search.capabilities, geoShapes: false } };
    delete (search as { shapesContaining?: unknown }).shapesContaining;
    const bridge = new Proxy(service.bridge, { get: (target, property) => (property === "search" ? search : Reflect.get(target, property, target)) }) as Bridge;
    const app = buildApp({ bridge });

    const response = await app.inject({ method: "GET", url: `/api/zones/containing?lat=${MINNEAPOLIS.lat}&lon=${MINNEAPOLIS.lon}` });
    await app.close();

    expect(response.statusCode).toBe(501);
    const body = response.json() as { error: { code: string; message: string } };
    expect(body.error.code).toBe("NOT_SUPPORTED");
    expect(body.error.message).toContain("BRIDGE_SEARCH=opensearch");
  });
});
