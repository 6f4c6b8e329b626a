// Delivery zones: one per US state, DC and territory (56), from
// `states-10m.json` of the `us-atlas` package (the US Census Bureau's
// cartographic state boundaries, 2017 edition, quantized and simplified
// TopoJSON), converted to GeoJSON with `topojson-client`. The file is read
// from the installed package, so the import needs no network.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { booleanPointInPolygon } from "@turf/boolean-point-in-polygon";
import { BridgeError, type GeoPoint, type GeoShape, type IndexDefinition, type SearchDocument } from "@bridge/core";
import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";

export const ZONES_INDEX = "zones";

export const ZONES_INDEX_DEFINITION: IndexDefinition = {
  name: ZONES_INDEX,
  fields: {
    zone_id: "keyword",
    name: "text",
    fips: "keyword",
    geometry: "geo_shape",
    warehouse_ids: "keyword",
  },
  searchableFields: ["name"],
};

/** USPS code of each FIPS state code in `states-10m.json`: the 50 states, DC and 5 territories. */
const POSTAL_CODE_BY_FIPS: Readonly<Record<string, string>> = {
  "01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT", "10": "DE",
  "11": "DC", "12": "FL", "13": "GA", "15": "HI", "16": "ID", "17": "IL", "18": "IN", "19": "IA",
  "20": "KS", "21": "KY", "22": "LA", "23": "ME", "24": "MD", "25": "MA", "26": "MI", "27": "MN",
  "28": "MS", "29": "MO", "30": "MT", "31": "NE", "32": "NV", "33": "NH", "34": "NJ", "35": "NM",
  "36": "NY", "37": "NC", "38": "ND", "39": "OH", "40": "OK", "41": "OR", "42": "PA", "44": "RI",
  "45": "SC", "46": "SD", "47": "TN", "48": "TX", "49": "UT", "50": "VT", "51": "VA", "53": "WA",
  "54": "WV", "55": "WI", "56": "WY", "60": "AS", "66": "GU", "69": "MP", "72": "PR", "78": "VI",
};

/** One state's boundary, decoded and cleaned, with its bounding box. */
export interface StateZone {
  /** USPS code such as `MN`, used as the zone id and the search document id. */
  zoneId: string;
  name: string;
  /** Two-digit FIPS state code, such as `27` for Minnesota. */
  fips: string;
  /** GeoJSON Polygon or MultiPolygon, exterior rings counterclockwise (RFC 7946). */
  geometry: GeoShape;
  /** [west, south, east, north] in degrees. */
  bbox: [number, number, number, number];
}

/** A delivery zone in the `zones` search index. */
export interface ZoneSearchDocument extends SearchDocument {
  zone_id: string;
  name: string;
  fips: string;
  geometry: GeoShape;
  /** Warehouses whose location lies inside the zone. */
  warehouse_ids: string[];
}

/** A warehouse with a location, which serves the zone that contains it. */
export interface LocatedWarehouse {
  id: string;
  location: GeoPoint;
}

let cached: StateZone[] | undefined;

/**
 * Returns the 56 state zones, in the order of the boundary file. The file
 * (115 KB of TopoJSON) is decoded once per process, so callers share the
 * result and must not change it.
 */
export function loadStateZones(): readonly StateZone[] {
  cached ??= decodeStates();
  return cached;
}

function decodeStates(): StateZone[] {
  const require = createRequire(import.meta.url);
  const path = require.resolve("us-atlas/states-10m.json");
  const topology = JSON.parse(readFileSync(path, "utf8")) as Topology<{ states: GeometryCollection<{ name: string }> }>;
  const states = feature(topology, topology.objects.states);

  return states.features.map((state) => {
    const fips = String(state.id);
    const zoneId = POSTAL_CODE_BY_FIPS[fips];
    if (zoneId === undefined) {
      throw new BridgeError(`State boundary file ${path} has a state with FIPS code ${JSON.stringify(fips)} (${state.properties.name}) that has no postal code in POSTAL_CODE_BY_FIPS. Install us-atlas 3.0.1 or add the code to that table`, {
        code: "INTERNAL",
        details: { path, fips },
      });
    }
    const geometry = orientRings(state.geometry as GeoShape);
    return { zoneId, name: state.properties.name, fips, geometry, bbox: boundingBox(geometry) };
  });
}

/**
 * Returns the ids of the warehouses inside the zone, in input order. A
 * warehouse on a shared border is inside both zones.
 */
export function warehousesInZone(zone: StateZone, warehouses: readonly LocatedWarehouse[]): string[] {
  const [west, south, east, north] = zone.bbox;
  return warehouses
    .filter(({ location: { lat, lon } }) => lon >= west && lon <= east && lat >= south && lat <= north)
    .filter(({ location }) => booleanPointInPolygon([location.lon, location.lat], zone.geometry))
    .map((warehouse) => warehouse.id);
}

/** Builds the search document of a zone with the warehouses that serve it. */
export function zoneDocument(zone: StateZone, warehouses: readonly LocatedWarehouse[]): ZoneSearchDocument {
  return {
    id: zone.zoneId,
    zone_id: zone.zoneId,
    name: zone.name,
    fips: zone.fips,
    geometry: zone.geometry,
    warehouse_ids: warehousesInZone(zone, warehouses),
  };
}

type Ring = number[][];

/**
 * Orders rings as RFC 7946 and OpenSearch expect, exterior counterclockwise
 * and holes clockwise, because us-atlas follows d3's spherical convention,
 * which is the reverse. Quantization collapses a few tiny islands and holes
 * into rings without area, which OpenSearch rejects, so those are dropped.
 */
function orientRings(geometry: GeoShape): GeoShape {
  if (geometry.type === "Polygon") {
    const rings = cleanPolygon(geometry.coordinates);
    return { type: "Polygon", coordinates: rings ?? [] };
  }
  const polygons = geometry.coordinates.map(cleanPolygon).filter((rings): rings is Ring[] => rings !== undefined);
  return { type: "MultiPolygon", coordinates: polygons };
}

/** Cleans and orients the rings of one polygon. Returns undefined when its exterior ring has no area left. */
function cleanPolygon(rings: Ring[]): Ring[] | undefined {
  const exterior = cleanRing(rings[0] ?? []);
  if (!hasArea(exterior)) return undefined;
  const holes = rings.slice(1).map(cleanRing).filter(hasArea);
  return [orient(exterior, true), ...holes.map((hole) => orient(hole, false))];
}

function hasArea(ring: Ring): boolean {
  return ring.length >= 4 && doubledArea(ring) !== 0;
}

/**
 * Removes repeated consecutive positions and spikes that go to a point and
 * straight back (A, B, A) from a closed ring. Returns an empty ring when
 * fewer than three positions remain.
 */
function cleanRing(ring: Ring): Ring {
  const open = ring.slice(0, -1);
  let changed = true;
  while (changed && open.length >= 3) {
    changed = false;
    for (let i = 0; i < open.length && open.length >= 3; i++) {
      const previous = open[(i - 1 + open.length) % open.length] as number[];
      const current = open[i] as number[];
      const next = open[(i + 1) % open.length] as number[];
      if (samePosition(current, next)) {
        open.splice(i, 1);
        changed = true;
      } else if (samePosition(previous, next)) {
        // The spike's tip is at i, and `next` repeats its base.
        open.splice(i, 1);
        open.splice(i % open.length, 1);
        changed = true;
      }
    }
  }
  if (open.length < 3) return [];
  return [...open, [...(open[0] as number[])]];
}

function samePosition(a: number[], b: number[]): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

/** Twice the signed area of a closed ring (shoelace formula): positive when counterclockwise. */
function doubledArea(ring: Ring): number {
  let area = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1 = 0, y1 = 0] = ring[i] as number[];
    const [x2 = 0, y2 = 0] = ring[i + 1] as number[];
    area += x1 * y2 - x2 * y1;
  }
  return area;
}

function orient(ring: Ring, counterclockwise: boolean): Ring {
  return doubledArea(ring) > 0 === counterclockwise ? ring : [...ring].reverse();
}

function boundingBox(geometry: GeoShape): [number, number, number, number] {
  const rings = geometry.type === "Polygon" ? geometry.coordinates : geometry.coordinates.flat();
  let west = 180;
  let south = 90;
  let east = -180;
  let north = -90;
  for (const ring of rings) {
    for (const [lon = 0, lat = 0] of ring) {
      west = Math.min(west, lon);
      east = Math.max(east, lon);
      south = Math.min(south, lat);
      north = Math.max(north, lat);
    }
  }
  return [west, south, east, north];
}
