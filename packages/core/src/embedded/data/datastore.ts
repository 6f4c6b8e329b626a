// Products, categories and brands. SKU and slug are unique per tenant, which a
// database provider enforces with unique indexes on (tenantId, sku) and
// (tenantId, slug).
import { randomUUID } from "node:crypto";
import { paginate } from "../../data/cursor.js";
import { assertPlainFilter, matchesFilter } from "../../data/filters.js";
import { deepEqual } from "../../data/json.js";
import { assertSlug, slugify } from "../../data/slug.js";
import {
  SKU_PATTERN,
  newBrandSchema,
  newCategorySchema,
  newProductSchema,
  parseInput,
  productPatchSchema,
} from "../../data/validation.js";
import { BridgeError, ValidationError } from "../../errors.js";
import type { BulkResult, PageRequest, WriteOptions } from "../../roles/data/common.js";
import type {
  Brand,
  BrandStore,
  Category,
  CategoryStore,
  DatastoreModule,
  NewCategory,
  NewProduct,
  Product,
  ProductListRequest,
  ProductStore,
} from "../../roles/data/datastore.js";
import { currentTenantId } from "../../tenant.js";
import { type Clock, TenantCollection, assertId, assertVersion, errorContext, newStoredFields, notFound } from "./store.js";

/** Product fields that `list` can filter on. */
export const PRODUCT_FILTER_FIELDS = ["sku", "title", "slug", "brand", "categoryIds", "categories", "popularity", "imageUrl"] as const;

/** Largest number of rows one bulkUpsert call takes. */
export const MAX_BULK_ROWS = 10_000;

/** Copy of `record` without undefined fields, so stored records look the same in memory and in MongoDB. */
function compact<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

function assertSku(sku: unknown): asserts sku is string {
  if (typeof sku !== "string" || !SKU_PATTERN.test(sku)) {
    throw new ValidationError(
      `Invalid SKU ${JSON.stringify(sku) ?? String(sku)}: expected 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
      { ...errorContext(), details: { sku: String(sku) } },
    );
  }
}

function assertBulkSize(rows: unknown, label: string): asserts rows is unknown[] {
  if (!Array.isArray(rows) || rows.length > MAX_BULK_ROWS) {
    throw new ValidationError(
      `Invalid ${label} bulk upsert: expected an array of at most ${MAX_BULK_ROWS} rows, got ${Array.isArray(rows) ? `${rows.length} rows` : typeof rows}. Split the rows into smaller calls.`,
      { ...errorContext(), details: { rows: Array.isArray(rows) ? rows.length : typeof rows } },
    );
  }
}

/** Runs `write` for each row and reports rows that fail with a BridgeError instead of stopping. */
function bulkWrite<R>(rows: R[], keyOf: (row: R) => string | undefined, write: (row: R) => "inserted" | "updated"): BulkResult {
  const result: BulkResult = { inserted: 0, updated: 0, failed: [] };
  rows.forEach((row, index) => {
    try {
      result[write(row)] += 1;
    } catch (error) {
      if (!(error instanceof BridgeError)) throw error;
      result.failed.push({ index, key: keyOf(row), code: error.code, message: error.message });
    }
  });
  return result;
}

function stringField(row: unknown, field: string): string | undefined {
  const value = row !== null && typeof row === "object" ? (row as Record<string, unknown>)[field] : undefined;
  return typeof value === "string" ? value : undefined;
}

/**
 * Picks the slug for a record without an explicit one: the first candidate
 * that no other record of the tenant uses, else the last candidate, which
 * then fails the unique index with DuplicateKeyError.
 */
function chooseSlug<T extends { id: string }>(collection: TenantCollection<T>, selfId: string | undefined, candidates: string[]): string {
  const tenantId = currentTenantId();
  for (const candidate of candidates) {
    const owner = collection.findByUnique(tenantId, "slug", candidate);
    if (!owner || owner.id === selfId) return candidate;
  }
  return candidates[candidates.length - 1] as string;
}

function createProductStore(clock: Clock): ProductStore {
  const products = new TenantCollection<Product>("Product", [
    { field: "sku", key: (product) => product.sku },
    { field: "slug", key: (product) => product.slug },
  ]);

  function insertProduct(input: NewProduct): Product {
    const parsed = parseInput(newProductSchema, input, "product", errorContext());
    const tenantId = currentTenantId();
    const id = parsed.id ?? randomUUID();
    // A title shared by several products gets the SKU appended, so generated slugs rarely collide.
    const slug = parsed.slug ?? chooseSlug(products, id, [slugify(parsed.title, errorContext()), slugify(`${parsed.title} ${parsed.sku}`)]);

    const product: Product = compact({
      ...newStoredFields(id, tenantId, clock.now()),
      ...parsed,
      slug,
      categoryIds: parsed.categoryIds ?? [],
      categories: parsed.categories ?? [],
      attributes: parsed.attributes ?? {},
    });
    return products.insert(tenantId, product);
  }

  /** Writes `next` as a new version unless it equals `current`. */
  function saveIfChanged(current: Product, next: Product): Product {
    if (deepEqual(current, next)) return current;
    return products.replace(current.tenantId, { ...next, version: current.version + 1, updatedAt: clock.now().toISOString() });
  }

  return {
    async create(input) {
      return insertProduct(input);
    },

    async get(id) {
      assertId(id, "product id");
      return products.get(currentTenantId(), id) ?? null;
    },

    async getBySku(sku) {
      assertSku(sku);
      return products.findByUnique(currentTenantId(), "sku", sku) ?? null;
    },

    async getBySlug(slug) {
      assertSlug(slug, errorContext());
      return products.findByUnique(currentTenantId(), "slug", slug) ?? null;
    },

    async listByCategory(categoryId, page: PageRequest = {}) {
      assertId(categoryId, "category id");
      const matches = products.filter(currentTenantId(), (product) => product.categoryIds.includes(categoryId));
      return paginate(matches, { scope: `products:category:${categoryId}`, key: () => [], direction: "asc" }, page, errorContext());
    },

    async list(request: ProductListRequest = {}) {
      const filter = request.filter ?? {};
      assertPlainFilter(filter, { allowedFields: PRODUCT_FILTER_FIELDS, context: errorContext() });
      const matches = products.filter(currentTenantId(), (product) => matchesFilter(product as unknown as Record<string, unknown>, filter));
      return paginate(matches, { scope: "products:id", key: () => [], direction: "asc" }, request, errorContext());
    },

    /** Fields in the patch replace the stored ones; a field set to undefined is left unchanged. The slug stays unless the patch sets it. */
    async update(id, patch, options: WriteOptions = {}) {
      assertId(id, "product id");
      const parsed = parseInput(productPatchSchema, patch, "product patch", errorContext());
      const current = products.get(currentTenantId(), id);
      if (!current) throw notFound("Product", id);
      assertVersion("Product", id, options.expectedVersion, current.version);

      return saveIfChanged(current, compact({ ...current, ...compact(parsed) }));
    },

    async delete(id) {
      assertId(id, "product id");
      return products.delete(currentTenantId(), id);
    },

    /**
     * Inserts rows with a new SKU and replaces the fields of rows whose SKU
     * exists, keeping id, slug (unless the row sets one) and createdAt.
     * `updated` counts matched SKUs whether or not a field changed, like
     * MongoDB's matchedCount; unchanged products keep their version.
     */
    async bulkUpsert(rows) {
      assertBulkSize(rows, "product");
      return bulkWrite(rows, (row) => stringField(row, "sku"), (row) => {
        const parsed = parseInput(newProductSchema, row, "product", errorContext());
        const current = products.findByUnique(currentTenantId(), "sku", parsed.sku);
        if (!current) {
          insertProduct(row);
          return "inserted";
        }
        if (parsed.id !== undefined && parsed.id !== current.id) {
          throw new ValidationError(
            `Product row for SKU "${parsed.sku}" has id "${parsed.id}", but the SKU belongs to product "${current.id}". Drop the id or fix the SKU.`,
            { ...errorContext(), details: { sku: parsed.sku, id: parsed.id, existingId: current.id } },
          );
        }
        const { id: _ignored, ...fields } = parsed;
        saveIfChanged(
          current,
          compact({
            id: current.id,
            tenantId: current.tenantId,
            version: current.version,
            createdAt: current.createdAt,
            updatedAt: current.updatedAt,
            ...fields,
            slug: fields.slug ?? current.slug,
            categoryIds: fields.categoryIds ?? [],
            categories: fields.categories ?? [],
            attributes: fields.attributes ?? {},
          }),
        );
        return "updated";
      });
    },

    async count() {
      return products.count(currentTenantId());
    },
  };
}

function createCategoryStore(clock: Clock): CategoryStore {
  const categories = new TenantCollection<Category>("Category", [{ field: "slug", key: (category) => category.slug }]);

  function upsertCategory(input: NewCategory): "inserted" | "updated" {
    const parsed = parseInput(newCategorySchema, input, "category", errorContext());
    const tenantId = currentTenantId();
    const current = categories.get(tenantId, parsed.id);
    // Names such as "Accessories" repeat under many parents, so a taken name slug falls back to name plus id.
    const slug =
      parsed.slug ?? current?.slug ?? chooseSlug(categories, parsed.id, [slugify(parsed.name, errorContext()), slugify(`${parsed.name} ${parsed.id}`)]);
    const fields = { name: parsed.name, slug, parentId: parsed.parentId, path: parsed.path };

    if (!current) {
      categories.insert(tenantId, { ...newStoredFields(parsed.id, tenantId, clock.now()), ...fields });
      return "inserted";
    }
    const next = { ...current, ...fields };
    if (!deepEqual(current, next)) {
      categories.replace(tenantId, { ...next, version: current.version + 1, updatedAt: clock.now().toISOString() });
    }
    return "updated";
  }

  return {
    async upsert(input) {
      const tenantId = currentTenantId();
      upsertCategory(input);
      return categories.get(tenantId, input.id) as Category;
    },

    /** Parents need not exist first, so a category tree can load in any order. */
    async bulkUpsert(rows) {
      assertBulkSize(rows, "category");
      return bulkWrite(rows, (row) => stringField(row, "id"), upsertCategory);
    },

    async get(id) {
      assertId(id, "category id");
      return categories.get(currentTenantId(), id) ?? null;
    },

    async getBySlug(slug) {
      assertSlug(slug, errorContext());
      return categories.findByUnique(currentTenantId(), "slug", slug) ?? null;
    },

    /** Direct children ordered by name, then id; `null` lists the root categories. */
    async children(parentId) {
      if (parentId !== null) assertId(parentId, "parent category id");
      return categories
        .filter(currentTenantId(), (category) => category.parentId === parentId)
        .sort((a, b) => {
          if (a.name !== b.name) return a.name < b.name ? -1 : 1;
          return a.id < b.id ? -1 : 1;
        });
    },

    async list(page: PageRequest = {}) {
      return paginate(categories.all(currentTenantId()), { scope: "categories:id", key: () => [], direction: "asc" }, page, errorContext());
    },

    async count() {
      return categories.count(currentTenantId());
    },
  };
}

function createBrandStore(clock: Clock): BrandStore {
  const brands = new TenantCollection<Brand>("Brand", [{ field: "slug", key: (brand) => brand.slug }]);

  return {
    /** Matches an existing brand by id when given, else by slug; creates one otherwise. */
    async upsert(input) {
      const parsed = parseInput(newBrandSchema, input, "brand", errorContext());
      const tenantId = currentTenantId();
      const slug = parsed.slug ?? slugify(parsed.name, errorContext());
      const current = parsed.id !== undefined ? brands.get(tenantId, parsed.id) : brands.findByUnique(tenantId, "slug", slug);

      if (!current) {
        return brands.insert(tenantId, { ...newStoredFields(parsed.id ?? randomUUID(), tenantId, clock.now()), name: parsed.name, slug });
      }
      const next = { ...current, name: parsed.name, slug };
      if (deepEqual(current, next)) return current;
      return brands.replace(tenantId, { ...next, version: current.version + 1, updatedAt: clock.now().toISOString() });
    },

    async get(id) {
      assertId(id, "brand id");
      return brands.get(currentTenantId(), id) ?? null;
    },

    async getBySlug(slug) {
      assertSlug(slug, errorContext());
      return brands.findByUnique(currentTenantId(), "slug", slug) ?? null;
    },

    async list(page: PageRequest = {}) {
      return paginate(brands.all(currentTenantId()), { scope: "brands:id", key: () => [], direction: "asc" }, page, errorContext());
    },
  };
}

export function createMemoryDatastore(clock: Clock): DatastoreModule {
  return { products: createProductStore(clock), categories: createCategoryStore(clock), brands: createBrandStore(clock) };
}
