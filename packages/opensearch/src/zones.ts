// Delivery zones from real boundaries: the US states (with DC and the
// territories) of the `us-atlas` package, US Census Bureau cartographic
// boundary files, 2017, 1:10,000,000, as TopoJSON. The file is read from the
// installed package, so no network is used at run time.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { booleanPointInPolygon } from "@turf/boolean-point-in-polygon";
import type { GeoPoint, GeoShape, IndexDefinition, SearchDocument } from "@bridge/core";
import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";

/** A warehouse that serves the zone it stands in. */
export interface ZoneWarehouse {
  id: string | number;
  location: GeoPoint;
}

/** One state as a delivery zone document. */
export interface ZoneDocument extends SearchDocument {
  /** `us-<FIPS code>`, such as `us-27` for Minnesota. */
  id: string;
  zone_id: string;
  name: string;
  /** Two-digit FIPS state code. */
  fips: string;
  /** GeoJSON Polygon or MultiPolygon, exterior rings counterclockwise (RFC 7946). */
  geometry: GeoShape;
  /** Warehouses whose location lies inside the zone, in input order. */
  warehouse_ids: string[];
}

/** Index definition for zone documents; its name makes it the tuned `zones` kind. */
export const US_STATE_ZONES_INDEX: IndexDefinition = {
  name: "zones",
  fields: { zone_id: "keyword", name: "text", fips: "keyword", geometry: "geo_shape", warehouse_ids: "keyword" },
  searchableFields: ["name"],
};

type Ring = number[][];
let decoded: Array<{ fips: string; name: string; geometry: GeoShape }> | undefined;

/** Decodes the states once per process; the file is about 110 KB. */
function states(): Array<{ fips: string; name: string; geometry: GeoShape }> {
  if (decoded !== undefined) return decoded;
  const require = createRequire(import.meta.url);
  const topology = JSON.parse(readFileSync(require.resolve("us-atlas/states-10m.json"), "utf8")) as Topology<{ states: GeometryCollection<{ name: string }> }>;
  const collection = feature(topology, topology.objects.states);
  decoded = collection.features.map((state) => {
    const geometry = state.geometry as GeoShape;
    return { fips: String(state.id), name: state.properties.name, geometry: rewind(geometry) };
  });
  return decoded;
}

/**
 * Returns one delivery zone per US state, DC and territory (56 zones), each
 * listing the warehouses inside it. A warehouse on a shared border is listed
 * by both zones.
 */
export function loadUsStateZones(options: { warehouses?: readonly ZoneWarehouse[] } = {}): ZoneDocument[] {
  const warehouses = options.warehouses ?? [];
  return states().map(({ fips, name, geometry }) => {
    const inside = warehouses.filter((warehouse) => booleanPointInPolygon([warehouse.location.lon, warehouse.location.lat], geometry));
    return {
      id: `us-${fips}`,
      zone_id: `us-${fips}`,
      name,
      fips,
      geometry: structuredClone(geometry),
      warehouse_ids: inside.map((warehouse) => String(warehouse.id)),
    };
  });
}

/**
 * Orders rings as RFC 7946 wants: exterior counterclockwise, holes
 * clockwise. us-atlas follows d3's spherical convention, which is the reverse.
 */
function rewind(geometry: GeoShape): GeoShape {
  const polygon = (rings: Ring[]): Ring[] => rings.map((ring, position) => orient(ring, position === 0));
  if (geometry.type === "Polygon") return { type: "Polygon", coordinates: polygon(geometry.coordinates) };
  return { type: "MultiPolygon", coordinates: geometry.coordinates.map(polygon) };
}

function orient(ring: Ring, counterclockwise: boolean): Ring {
  let doubledArea = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1, y1] = ring[i]!;
    const [x2, y2] = ring[i + 1]!;
    doubledArea += x1! * y2! - x2! * y1!;
  }
  const isCounterclockwise = doubledArea > 0;
  return isCounterclockwise === counterclockwise ? ring : [...ring].reverse();
}
