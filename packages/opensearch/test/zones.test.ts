import { readFileSync } from "node:fs";
import { checkGeoShape } from "@bridge/core";
import { describe, expect, it } from "vitest";
import { loadUsStateZones } from "../src/zones.js";

interface Store {
  id: number;
  name: string;
  state: string;
  location: { lat: number; lon: number } | null;
}

export const STORES = (JSON.parse(readFileSync(new URL("../../../apps/reference/data/bestbuy/stores.json", import.meta.url), "utf8")) as Store[]).filter(
  (store): store is Store & { location: { lat: number; lon: number } } => store.location !== null,
);

/** USPS codes of the states, DC and Puerto Rico, for checking zone membership against the store addresses. */
const STATE_CODES: Record<string, string> = {
  Alabama: "AL", Alaska: "AK", Arizona: "AZ", Arkansas: "AR", California: "CA", Colorado: "CO", Connecticut: "CT", Delaware: "DE",
  "District of Columbia": "DC", Florida: "FL", Georgia: "GA", Hawaii: "HI", Idaho: "ID", Illinois: "IL", Indiana: "IN", Iowa: "IA",
  Kansas: "KS", Kentucky: "KY", Louisiana: "LA", Maine: "ME", Maryland: "MD", Massachusetts: "MA", Michigan: "MI", Minnesota: "MN",
  Mississippi: "MS", Missouri: "MO", Montana: "MT", Nebraska: "NE", Nevada: "NV", "New Hampshire": "NH", "New Jersey": "NJ",
  "New Mexico": "NM", "New York": "NY", "North Carolina": "NC", "North Dakota": "ND", Ohio: "OH", Oklahoma: "OK", Oregon: "OR",
  Pennsylvania: "PA", "Puerto Rico": "PR", "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", Tennessee: "TN",
  Texas: "TX", Utah: "UT", Vermont: "VT", Virginia: "VA", Washington: "WA", "West Virginia": "WV", Wisconsin: "WI", Wyoming: "WY",
};

describe("loadUsStateZones", () => {
  const zones = loadUsStateZones({ warehouses: STORES });

  it("returns the states, DC and the territories", () => {
    expect(zones).toHaveLength(56);
    const minnesota = zones.find((zone) => zone.name === "Minnesota");
    expect(minnesota).toMatchObject({ id: "us-27", zone_id: "us-27", fips: "27" });
    expect(new Set(zones.map((zone) => zone.id)).size).toBe(56);
  });

  it("returns valid GeoJSON with counterclockwise exterior rings", () => {
    for (const zone of zones) {
      expect(checkGeoShape(zone.geometry), zone.name).toBeUndefined();
      const polygons = zone.geometry.type === "Polygon" ? [zone.geometry.coordinates] : zone.geometry.coordinates;
      for (const [exterior] of polygons) {
        let doubledArea = 0;
        for (let i = 0; i < exterior!.length - 1; i++) doubledArea += exterior![i]![0]! * exterior![i + 1]![1]! - exterior![i + 1]![0]! * exterior![i]![1]!;
        expect(doubledArea, `exterior ring of ${zone.name}`).toBeGreaterThan(0);
      }
    }
  });

  it("puts every store in the zone of its own state", () => {
    // Where the location and the address disagree, the location decides:
    const byLocation: Record<number, string> = {
      // Jonesboro, AR: the source gives coordinates near Pittsburgh.
      1536: "PA",
      // West Lebanon, NH: on the Connecticut River, which the 1:10,000,000 boundary moves by about a kilometre.
      868: "VT",
    };
    const zoneOf = new Map<string, string[]>();
    for (const zone of zones) for (const id of zone.warehouse_ids) zoneOf.set(id, [...(zoneOf.get(id) ?? []), zone.name]);
    for (const store of STORES) {
      const names = zoneOf.get(String(store.id)) ?? [];
      const expected = byLocation[store.id] ?? store.state;
      expect(names.map((name) => STATE_CODES[name]), `zones of store ${store.id} (${store.name}, ${store.state})`).toEqual([expected]);
    }
  });

  it("lists no warehouses without input", () => {
    expect(loadUsStateZones().every((zone) => zone.warehouse_ids.length === 0)).toBe(true);
  });
});
