import type { IndexDefinition, Product, SearchDocument, Warehouse } from "@bridge/core";

export const PRODUCTS_INDEX = "products";
export const WAREHOUSES_INDEX = "warehouses";

export const PRODUCTS_INDEX_DEFINITION: IndexDefinition = {
  name: PRODUCTS_INDEX,
  fields: {
    title: "text",
    description: "text",
    sku: "keyword",
    brand: "keyword",
    category: "keyword",
    price: "number",
    in_stock: "boolean",
    popularity: "number",
  },
  searchableFields: [{ field: "title", boost: 3 }, "description"],
  autocompleteField: "title",
};

export const WAREHOUSES_INDEX_DEFINITION: IndexDefinition = {
  name: WAREHOUSES_INDEX,
  fields: {
    name: "text",
    location: "geo_point",
    state: "keyword",
    city: "keyword",
  },
  searchableFields: ["name"],
};

/** Fields of a product search document, with `price` in minor units. */
export interface ProductSearchDocument extends SearchDocument {
  title: string;
  description: string;
  sku: string;
  brand: string;
  /** The most specific category label, which is what shoppers filter by. */
  category: string;
  price: number;
  in_stock: boolean;
  popularity: number;
}

export interface WarehouseSearchDocument extends SearchDocument {
  name: string;
  location: { lat: number; lon: number };
  state: string;
  city: string;
}

/** Builds the search document of a product. The id is the SKU, so a re-import overwrites it. */
export function productDocument(product: Pick<Product, "sku" | "title" | "description" | "brand" | "categories" | "price" | "popularity">, inStock: boolean): ProductSearchDocument {
  return {
    id: product.sku,
    title: product.title,
    description: product.description ?? "",
    sku: product.sku,
    brand: product.brand ?? "",
    category: product.categories.at(-1) ?? "",
    price: product.price?.amountMinor ?? 0,
    in_stock: inStock,
    popularity: product.popularity ?? 0,
  };
}

/** Builds the search document of a warehouse, or returns null when it has no coordinates to search by. */
export function warehouseDocument(warehouse: Pick<Warehouse, "id" | "name" | "address"> & { location?: Warehouse["location"] }): WarehouseSearchDocument | null {
  if (warehouse.location === null || warehouse.location === undefined) return null;
  const address = warehouse.address ?? {};
  return {
    id: warehouse.id,
    name: warehouse.name,
    location: { lat: warehouse.location.lat, lon: warehouse.location.lon },
    state: typeof address.state === "string" ? address.state : "",
    city: typeof address.city === "string" ? address.city : "",
  };
}
