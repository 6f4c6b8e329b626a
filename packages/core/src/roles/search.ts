import type { GeoPoint } from "./data/inventory.js";

export type SearchFieldType = "text" | "keyword" | "number" | "boolean" | "date" | "geo_point" | "geo_shape" | "object";

export interface IndexDefinition {
  /** Logical name such as `products`; providers add the tenant and their own prefix. */
  name: string;
  fields: Record<string, SearchFieldType>;
  /** Text fields searched when a query names none, with optional boosts. */
  searchableFields?: Array<string | { field: string; boost: number }>;
  /** Field used for autocomplete; the first text field when absent. */
  autocompleteField?: string;
}

export interface SearchDocument {
  id: string;
  [field: string]: unknown;
}

export type SearchFilter =
  | { field: string; eq: string | number | boolean }
  | { field: string; in: Array<string | number | boolean> }
  | { field: string; gte?: number; lte?: number; gt?: number; lt?: number };

export type GeoQuery =
  | { field: string; center: GeoPoint; radiusKm: number }
  /** Closed or open ring of points; providers close it. */
  | { field: string; polygon: GeoPoint[] };

export interface SearchQuery {
  index: string;
  /** User text, always matched as text and never parsed as query syntax. */
  text?: string;
  fields?: string[];
  /** true for automatic edit distance, or a maximum edit distance. */
  fuzzy?: boolean | number;
  filters?: SearchFilter[];
  /** Keyword fields to count values of. */
  facets?: string[];
  /** Maximum values per facet; 20 when absent. */
  facetSize?: number;
  sort?: Array<{ field: string; order: "asc" | "desc" } | { distanceFrom: GeoPoint; field: string; order?: "asc" | "desc" }>;
  /** 1-based. */
  page?: number;
  pageSize?: number;
  /** Values from `nextSearchAfter` of the previous page, for deep pagination. */
  searchAfter?: unknown[];
  highlight?: boolean;
  geo?: GeoQuery;
}

export interface SearchHit<T = SearchDocument> {
  id: string;
  score: number;
  document: T;
  /** Set when the query has a radius filter or distance sort. */
  distanceKm?: number;
  highlights?: Record<string, string[]>;
}

export interface FacetValue {
  value: string;
  count: number;
}

export interface SearchResult<T = SearchDocument> {
  total: number;
  hits: SearchHit<T>[];
  facets: Record<string, FacetValue[]>;
  page: number;
  pageSize: number;
  nextSearchAfter: unknown[] | null;
}

export interface BulkIndexResult {
  indexed: number;
  failed: Array<{ id: string | undefined; index: number; message: string }>;
}

export interface SearchCapabilities {
  fuzzy: boolean;
  facets: boolean;
  highlight: boolean;
  autocomplete: boolean;
  geoRadius: boolean;
  geoPolygon: boolean;
  /** Shapes stored on documents and "which shapes contain this point". */
  geoShapes: boolean;
  deepPagination: boolean;
  persistent: boolean;
}

export interface SearchRole {
  readonly capabilities: SearchCapabilities;
  /** Creates the index for the current tenant if missing; idempotent. */
  ensureIndex(definition: IndexDefinition): Promise<void>;
  dropIndex(index: string): Promise<void>;
  index(index: string, document: SearchDocument): Promise<void>;
  /** One bad document is reported and the rest are indexed. */
  bulkIndex(index: string, documents: SearchDocument[], options?: { onProgress?: (done: number, total: number) => void }): Promise<BulkIndexResult>;
  delete(index: string, id: string): Promise<boolean>;
  search<T = SearchDocument>(query: SearchQuery): Promise<SearchResult<T>>;
  autocomplete(index: string, prefix: string, options?: { limit?: number; field?: string }): Promise<string[]>;
  /** Documents whose geo_shape `field` contains the point, where `geoShapes` is declared. */
  shapesContaining?<T = SearchDocument>(index: string, field: string, point: GeoPoint): Promise<SearchHit<T>[]>;
  /** Makes writes visible to search at once (engines with a refresh interval). */
  refresh(index: string): Promise<void>;
  count(index: string): Promise<number>;
}
