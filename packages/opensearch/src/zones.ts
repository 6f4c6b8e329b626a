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

/** A warehouse, which serves the zone that contains its location. */
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
  if (geometry.type === "Polygon") return { type: "Polygon", coordinates: polygon(geometry.coordinates.map(clean)) };
  // Quantization collapses a few tiny islands into rings without area, which OpenSearch rejects.
  const polygons = geometry.coordinates
    .map((rings) => rings.map(clean))
    .filter((rings) => rings[0] !== undefined && rings[0].length >= 4 && doubledArea(rings[0]) !== 0);
  return { type: "MultiPolygon", coordinates: polygons.map(polygon) };
}

/**
 * Removes what quantization leaves in a few rings and OpenSearch rejects:
 * repeated consecutive positions, and spikes that go to a point and straight
 * back (A, B, A), which count as self-intersections.
 */
function clean(ring: Ring): Ring {
  const open = ring.slice(0, -1);
  let changed = true;
  while (changed && open.length >= 3) {
    changed = false;
    for (let i = 0; i < open.length && open.length >= 3; i++) {
      const previous = open[(i - 1 + open.length) % open.length]!;
      const current = open[i]!;
      const next = open[(i + 1) % open.length]!;
      if (samePosition(current, next)) {
        open.splice(i, 1);
        changed = true;
      } else if (samePosition(previous, next)) {
        // Drops the spike's tip and one copy of its base.
        open.splice(i, 1);
        open.splice(i % open.length, 1);
        changed = true;
      }
    }
  }
  return open.length === 0 ? [] : [...open, [...open[0]!]];
}

function samePosition(a: number[], b: number[]): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

/** Twice the signed area of a closed ring (shoelace formula): positive when counterclockwise. */
function doubledArea(ring: Ring): number {
  let area = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1, y1] = ring[i]!;
    const [x2, y2] = ring[i + 1]!;
    area += x1! * y2! - x2! * y1!;
  }
  return area;
}

function orient(ring: Ring, counterclockwise: boolean): Ring {
  const isCounterclockwise = doubledArea(ring) > 0;
  return isCounterclockwise === counterclockwise ? ring : [...ring].reverse();
}
