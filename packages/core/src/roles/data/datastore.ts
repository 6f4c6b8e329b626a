import type { BulkResult, FieldFilter, Money, Page, PageRequest, Stored, WriteOptions } from "./common.js";

export interface Product extends Stored {
  sku: string;
  title: string;
  /** URL slug, unique per tenant. */
  slug: string;
  description?: string;
  brand?: string;
  /** Category ids, general to specific. */
  categoryIds: string[];
  /** Category names, general to specific, as shown to shoppers. */
  categories: string[];
  price?: Money;
  imageUrl?: string;
  popularity?: number;
  attributes: Record<string, unknown>;
}

export type NewProduct = Omit<Product, keyof Stored | "slug" | "categoryIds" | "categories" | "attributes"> & {
  id?: string;
  slug?: string;
  categoryIds?: string[];
  categories?: string[];
  attributes?: Record<string, unknown>;
};

export interface Category extends Stored {
  name: string;
  slug: string;
  parentId: string | null;
  /** From the root down to this category, inclusive. */
  path: Array<{ id: string; name: string }>;
}

export type NewCategory = Omit<Category, keyof Stored | "slug"> & { id: string; slug?: string };

export interface Brand extends Stored {
  name: string;
  slug: string;
}

export type NewBrand = { id?: string; name: string; slug?: string };

export interface ProductListRequest extends PageRequest {
  filter?: FieldFilter;
}

export interface ProductStore {
  /** Throws DuplicateKeyError when the SKU or slug is taken in this tenant. */
  create(input: NewProduct): Promise<Product>;
  get(id: string): Promise<Product | null>;
  getBySku(sku: string): Promise<Product | null>;
  getBySlug(slug: string): Promise<Product | null>;
  listByCategory(categoryId: string, page?: PageRequest): Promise<Page<Product>>;
  /** Ordered by id. Filter values are data, never operators. */
  list(request?: ProductListRequest): Promise<Page<Product>>;
  update(id: string, patch: Partial<NewProduct>, options?: WriteOptions): Promise<Product>;
  delete(id: string): Promise<boolean>;
  /** Inserts or updates by SKU; a bad row is reported and the others are still written. */
  bulkUpsert(rows: NewProduct[]): Promise<BulkResult>;
  count(): Promise<number>;
}

export interface CategoryStore {
  upsert(input: NewCategory): Promise<Category>;
  bulkUpsert(rows: NewCategory[]): Promise<BulkResult>;
  get(id: string): Promise<Category | null>;
  getBySlug(slug: string): Promise<Category | null>;
  children(parentId: string | null): Promise<Category[]>;
  list(page?: PageRequest): Promise<Page<Category>>;
  count(): Promise<number>;
}

export interface BrandStore {
  upsert(input: NewBrand): Promise<Brand>;
  get(id: string): Promise<Brand | null>;
  getBySlug(slug: string): Promise<Brand | null>;
  list(page?: PageRequest): Promise<Page<Brand>>;
}

export interface DatastoreModule {
  products: ProductStore;
  categories: CategoryStore;
  brands: BrandStore;
}
