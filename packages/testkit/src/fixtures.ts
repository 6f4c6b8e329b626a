// Real product and store records shipped with the kit (origin and licenses in
// fixtures/SOURCE.md). The build inlines the JSON, so the suites need no file access.
import type { GeoPoint, IndexDefinition, SearchDocument } from "@bridge/core";
import productRecords from "../fixtures/products.json";
import storeRecords from "../fixtures/stores.json";

/** A product record as published upstream. */
export interface FixtureProduct {
  name: string;
  description: string;
  brand: string;
  /** General to specific. */
  categories: string[];
  /** USD. */
  price: number;
  image: string;
  popularity: number;
}

/** A Best Buy store record as published upstream. */
export interface FixtureStore {
  id: number;
  type: string;
  name: string;
  address: string;
  address2: string;
  city: string;
  state: string;
  zip: string;
  location: GeoPoint;
  hours: string;
  services: string[];
}

export const fixtureProducts: readonly FixtureProduct[] = productRecords;
export const fixtureStores: readonly FixtureStore[] = storeRecords;

/** Returns the Best Buy SKU of a product: the number in its image file name. */
export function skuOf(product: FixtureProduct): string {
  const match = /\/(\d+)_[a-z]+\.jpg$/.exec(product.image);
  if (!match) throw new Error(`Fixture product ${JSON.stringify(product.name)} has no SKU in its image URL ${product.image}`);
  return match[1] as string;
}

/** A product as the search suite indexes it. */
export interface ProductDocument extends SearchDocument {
  title: string;
  description: string;
  brand: string;
  /** The most specific category. */
  category: string;
  categories: string[];
  priceMinor: number;
  popularity: number;
}

export interface StoreDocument extends SearchDocument {
  name: string;
  city: string;
  state: string;
  storeType: string;
  location: GeoPoint;
}

export function productIndexDefinition(name: string): IndexDefinition {
  return {
    name,
    fields: {
      title: "text",
      description: "text",
      brand: "keyword",
      category: "keyword",
      categories: "keyword",
      priceMinor: "number",
      popularity: "number",
    },
    searchableFields: [{ field: "title", boost: 2 }, "description"],
    autocompleteField: "title",
  };
}

export function storeIndexDefinition(name: string): IndexDefinition {
  return {
    name,
    fields: { name: "text", city: "keyword", state: "keyword", storeType: "keyword", location: "geo_point" },
  };
}

export function productDocuments(): ProductDocument[] {
  return fixtureProducts.map((product) => ({
    id: skuOf(product),
    title: product.name,
    description: product.description,
    brand: product.brand,
    category: product.categories[product.categories.length - 1] ?? "",
    categories: [...product.categories],
    // Cents, because money is integer minor units everywhere in Bridge.
    priceMinor: Math.round(product.price * 100),
    popularity: product.popularity,
  }));
}

export function storeDocuments(): StoreDocument[] {
  return fixtureStores.map((store) => ({
    id: String(store.id),
    name: store.name,
    city: store.city,
    state: store.state,
    storeType: store.type,
    location: { lat: store.location.lat, lon: store.location.lon },
  }));
}

/** Great-circle distance in km on a sphere of radius 6371 km. */
export function haversineKm(a: GeoPoint, b: GeoPoint): number {
  const toRadians = (degrees: number) => (degrees * Math.PI) / 180;
  const dLat = toRadians(b.lat - a.lat);
  const dLon = toRadians(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRadians(a.lat)) * Math.cos(toRadians(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}
