import type { Bridge, GeoPoint } from "@bridge/core";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { WAREHOUSES_INDEX, type WarehouseSearchDocument } from "../catalog/search-documents.js";
import { searchOrEmpty } from "./search-helpers.js";
import { inTenant } from "./tenant.js";
import { parseRequest, queryInteger, queryNumber } from "./validation.js";

/** Largest search radius; 500 km covers a region, wider searches return most of the country. */
export const MAX_RADIUS_KM = 500;

const nearQuerySchema = z.object({
  lat: queryNumber(-90, 90, "a latitude in degrees"),
  lon: queryNumber(-180, 180, "a longitude in degrees"),
  radiusKm: queryNumber(0.1, MAX_RADIUS_KM, "a radius in kilometres").default("25"),
  limit: queryInteger(1, 100).default("20"),
});

export function registerWarehouseRoutes(app: FastifyInstance, bridge: Bridge): void {
  /** Warehouses within `radiusKm` of a point, nearest first. */
  app.get("/api/warehouses/near", (request) =>
    inTenant(request, async () => {
      const query = parseRequest(nearQuerySchema, request.query, "query");
      const center: GeoPoint = { lat: query.lat, lon: query.lon };

      const result = await searchOrEmpty<WarehouseSearchDocument>(bridge.search, {
        index: WAREHOUSES_INDEX,
        geo: { field: "location", center, radiusKm: query.radiusKm },
        sort: [{ distanceFrom: center, field: "location", order: "asc" }],
        pageSize: query.limit,
      });

      return {
        center,
        radiusKm: query.radiusKm,
        total: result.total,
        warehouses: result.hits.map((hit) => ({
          id: hit.document.id,
          name: hit.document.name,
          city: hit.document.city,
          state: hit.document.state,
          location: hit.document.location,
          distanceKm: hit.distanceKm === undefined ? null : Math.round(hit.distanceKm * 100) / 100,
        })),
      };
    }),
  );
}
