import { BridgeError, currentTenantId, isBridgeError, type Bridge, type GeoPoint, type Warehouse } from "@bridge/core";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ZONES_INDEX, type ZoneSearchDocument } from "../catalog/zones.js";
import { inTenant } from "./tenant.js";
import { parseRequest, queryNumber } from "./validation.js";

/** Warehouse lookups sent to the data role at once while naming a zone's warehouses. */
const WAREHOUSE_LOOKUP_CONCURRENCY = 16;

const containingQuerySchema = z.object({
  lat: queryNumber(-90, 90, "a latitude in degrees"),
  lon: queryNumber(-180, 180, "a longitude in degrees"),
});

export interface ZoneWarehouseAnswer {
  id: string;
  /** Warehouse name, or null when the data role no longer has the warehouse that the zone lists. Importing the catalogue again refreshes the zones. */
  name: string | null;
  city: string | null;
  state: string | null;
}

export interface ZoneAnswer {
  zoneId: string;
  name: string;
  fips: string;
  warehouses: ZoneWarehouseAnswer[];
}

export function registerZoneRoutes(app: FastifyInstance, bridge: Bridge): void {
  /** Delivery zones that contain a point, each with the warehouses that serve it. */
  app.get("/api/zones/containing", (request) =>
    inTenant(request, async () => {
      const query = parseRequest(containingQuerySchema, request.query, "query");
      const point: GeoPoint = { lat: query.lat, lon: query.lon };

      const zones = await zonesContaining(bridge, point);
      const answers: ZoneAnswer[] = [];
      for (const zone of zones) {
        answers.push({ zoneId: zone.zone_id, name: zone.name, fips: zone.fips, warehouses: await describeWarehouses(bridge, zone.warehouse_ids) });
      }
      return { point, total: answers.length, zones: answers };
    }),
  );
}

/**
 * Asks the search role for the zones whose geometry contains the point. A
 * tenant whose catalogue was never imported has no zones index yet, which
 * means no zone contains the point.
 */
async function zonesContaining(bridge: Bridge, point: GeoPoint): Promise<ZoneSearchDocument[]> {
  const search = bridge.search;
  if (search.shapesContaining === undefined || !search.capabilities.geoShapes) {
    const provider = bridge.providers.search?.join(",") || "the configured provider";
    throw new BridgeError(
      `Zone lookup needs a search provider that finds shapes containing a point, and ${provider} does not. Set BRIDGE_SEARCH=embedded or BRIDGE_SEARCH=opensearch`,
      { code: "NOT_SUPPORTED", role: "search", tenantId: currentTenantId(), details: { provider } },
    );
  }

  try {
    const hits = await search.shapesContaining<ZoneSearchDocument>(ZONES_INDEX, "geometry", point);
    return hits.map((hit) => hit.document).sort((a, b) => a.zone_id.localeCompare(b.zone_id));
  } catch (error) {
    if (!isBridgeError(error, "NOT_FOUND")) throw error;
    return [];
  }
}

/** Looks up each warehouse in the data role, keeping the zone's order. */
async function describeWarehouses(bridge: Bridge, ids: readonly string[]): Promise<ZoneWarehouseAnswer[]> {
  const answers: ZoneWarehouseAnswer[] = [];
  for (let start = 0; start < ids.length; start += WAREHOUSE_LOOKUP_CONCURRENCY) {
    const slice = ids.slice(start, start + WAREHOUSE_LOOKUP_CONCURRENCY);
    const found = await Promise.all(slice.map((id) => bridge.data.inventory.getWarehouse(id)));
    slice.forEach((id, position) => answers.push(describeWarehouse(id, found[position] ?? null)));
  }
  return answers;
}

function describeWarehouse(id: string, warehouse: Warehouse | null): ZoneWarehouseAnswer {
  if (warehouse === null) return { id, name: null, city: null, state: null };
  const address = warehouse.address ?? {};
  return {
    id,
    name: warehouse.name,
    city: typeof address.city === "string" ? address.city : null,
    state: typeof address.state === "string" ? address.state : null,
  };
}
