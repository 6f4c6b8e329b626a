// Products, categories and brands in `products`, `categories` and `brands`.
// SKU and slug are unique per tenant through unique indexes on (tenantId, sku)
// and (tenantId, slug); bulk upserts go to the server as unordered bulkWrites.
import { randomUUID } from "node:crypto";
import {
  BridgeError,
  DuplicateKeyError,
  SKU_PATTERN,
  ValidationError,
  assertPlainFilter,
  assertSlug,
  deepEqual,
  isBridgeError,
  newBrandSchema,
  newCategorySchema,
  newProductSchema,
  parseInput,
  previewValue,
  productPatchSchema,
  slugify,
  type Brand,
  type BrandStore,
  type BulkResult,
  type Category,
  type CategoryStore,
  type DatastoreModule,
  type FieldFilter,
  type NewCategory,
  type NewProduct,
  type PageRequest,
  type Product,
  type ProductListRequest,
  type ProductStore,
  type WriteOptions,
} from "@bridge/core";
import type { Document } from "mongodb";
import type { BulkOperation } from "../collection.js";
import { TenantCollection } from "../collection.js";
import { assertId, compact, errorContext, escapeRegex, newStoredFields, notFound, resolveLimit, type ModuleContext } from "./shared.js";
import { mutateRecord, recordLock } from "./versioned.js";

/** Product fields that `list` can filter on; the same list as the embedded store. */
export const PRODUCT_FILTER_FIELDS = ["sku", "title", "slug", "brand", "categoryIds", "categories", "popularity", "imageUrl"] as const;

/** Largest number of rows one bulkUpsert call takes. */
export const MAX_BULK_ROWS = 10_000;

/** Rows sent to the server in one bulkWrite. */
const BULK_CHUNK = 500;

type Parsed<T> = { index: number; row: T };

function assertBulkSize(store: ModuleContext["store"], rows: unknown, what: string): asserts rows is unknown[] {
  if (!Array.isArray(rows) || rows.length > MAX_BULK_ROWS) {
    throw new ValidationError(
      `Invalid ${what} bulk upsert: expected an array of at most ${MAX_BULK_ROWS} rows, got ${Array.isArray(rows) ? `${rows.length} rows` : typeof rows}. Split the rows into smaller calls.`,
      { ...errorContext(store), details: { rows: Array.isArray(rows) ? rows.length : typeof rows } },
    );
  }
}

function stringField(row: unknown, field: string): string | undefined {
  const value = row !== null && typeof row === "object" ? (row as Record<string, unknown>)[field] : undefined;
  return typeof value === "string" ? value : undefined;
}

/** Splits rows into waves in which each key appears once, so a repeated key is applied after the earlier row, as in a loop. */
function waves<T>(rows: Parsed<T>[], keyOf: (row: T) => string): Parsed<T>[][] {
  const result: Parsed<T>[][] = [];
  const seen = new Map<string, number>();
  for (const entry of rows) {
    const key = keyOf(entry.row);
    const wave = (seen.get(key) ?? -1) + 1;
    seen.set(key, wave);
    (result[wave] ??= []).push(entry);
  }
  return result;
}

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}

/**
 * Filter of a bulk replace: `_id` and the version read before, so a
 * concurrent change wins. Under document locks (FerretDB) it is `_id` alone,
 * because FerretDB scans the whole collection for any other filter.
 * NOTE: on FerretDB a bulk upsert therefore overwrites a change made between its read and its write.
 */
function versionFilter(store: ModuleContext["store"], key: string, version: number): Document {
  return store.locksEnabled ? { _id: key } : { _id: key, version };
}

/** Turns a thrown error into a failed row of a bulk result; non-Bridge errors are bugs and propagate. */
function failedRow(result: BulkResult, index: number, key: string | undefined, error: unknown): void {
  if (!isBridgeError(error)) throw error;
  result.failed.push({ index, key, code: error.code, message: error.message });
}

/**
 * First slug among `candidates` that no other record of the tenant uses,
 * else the last one, which then fails the unique index. `owners` maps the
 * taken slugs to their record ids.
 */
function chooseSlug(owners: Map<string, string>, selfId: string | undefined, candidates: string[]): string {
  for (const candidate of candidates) {
    const owner = owners.get(candidate);
    if (owner === undefined || owner === selfId) return candidate;
  }
  return candidates[candidates.length - 1] as string;
}

async function slugOwners<T extends { id: string; slug: string }>(collection: TenantCollection<T>, slugs: string[]): Promise<Map<string, string>> {
  if (slugs.length === 0) return new Map();
  const owned = await collection.find({ slug: { $in: [...new Set(slugs)] } }, { projection: { id: 1, slug: 1 } });
  return new Map(owned.map((record) => [record.slug, record.id]));
}

/**
 * Explains a unique-index violation the way the embedded store does: which
 * of `fields`, which value, and which record uses it. Include "id" only for
 * inserts. Falls back to the driver's error when no holder is found (it was
 * deleted meanwhile).
 */
async function explainDuplicate<T extends { id: string }>(
  context: ModuleContext,
  collection: TenantCollection<T>,
  record: { id: string },
  fields: string[],
  error: unknown,
): Promise<BridgeError> {
  if (!isBridgeError(error, "DUPLICATE_KEY")) return error as BridgeError;
  const tenantId = collection.tenantId;
  for (const field of fields) {
    const value = (record as Record<string, unknown>)[field];
    if (typeof value !== "string") continue;
    const holder = await collection.findOne(field === "id" ? { _id: collection.key(value) } : { [field]: value });
    if (holder && (field === "id" || holder.id !== record.id)) {
      const by = field === "id" ? "" : ` by ${collection.kind.toLowerCase()} "${holder.id}"`;
      return new DuplicateKeyError(
        `${collection.kind} ${field} "${value}" is already used${by} in tenant "${tenantId}". Choose another ${field} or update the existing record.`,
        { ...errorContext(context.store), cause: error, details: { kind: collection.kind, field, value, existingId: holder.id } },
      );
    }
  }
  return error;
}

/** Largest number of products one title search returns. */
export const MAX_TITLE_SEARCH_LIMIT = 100;

/** Products with title search, reachable as `bridge.integrations.mongodb.data.datastore.products`. */
export interface MongoProductStore extends ProductStore {
  /**
   * Products whose title matches `text`: a `$text` query ranked by score
   * where the server has text indexes, otherwise a case-insensitive match of
   * the escaped text anywhere in the title, ordered by id.
   */
  searchTitle(text: string, options?: { limit?: number }): Promise<Product[]>;
}

export interface MongoDatastoreModule extends DatastoreModule {
  products: MongoProductStore;
}

function createProductStore(context: ModuleContext): MongoProductStore {
  const { store, now } = context;
  const products = new TenantCollection<Product>(store, "products", "Product");

  function slugCandidates(title: string, sku: string): string[] {
    // A title shared by several products gets the SKU appended, so generated slugs rarely collide.
    return [slugify(title, errorContext(store)), slugify(`${title} ${sku}`)];
  }

  function newProduct(parsed: ReturnType<typeof newProductSchema.parse>, id: string, slug: string): Product {
    return compact({
      ...newStoredFields(id, products.tenantId, now()),
      ...parsed,
      id,
      slug,
      categoryIds: parsed.categoryIds ?? [],
      categories: parsed.categories ?? [],
      attributes: parsed.attributes ?? {},
    });
  }

  /** Replaces every field of `current` from the row, keeping id, slug (unless the row sets one) and createdAt. */
  function mergeRow(current: Product, fields: Omit<ReturnType<typeof newProductSchema.parse>, "id">): Product {
    return compact({
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
    });
  }

  async function bulkWave(wave: Parsed<ReturnType<typeof newProductSchema.parse>>[], result: BulkResult): Promise<void> {
    const existing = await products.find({ sku: { $in: wave.map((entry) => entry.row.sku) } });
    const bySku = new Map(existing.map((product) => [product.sku, product]));

    const fresh = wave.filter((entry) => !bySku.has(entry.row.sku));
    const candidates = new Map(fresh.map((entry) => [entry.index, entry.row.slug ? [entry.row.slug] : slugCandidates(entry.row.title, entry.row.sku)]));
    const owners = await slugOwners(products, [...candidates.values()].flat());

    const operations: BulkOperation[] = [];
    const rowOf: Array<{ entry: (typeof wave)[number]; kind: "inserted" | "updated" }> = [];

    for (const entry of wave) {
      const { index, row } = entry;
      const current = bySku.get(row.sku);
      try {
        if (!current) {
          const id = row.id ?? randomUUID();
          const slug = chooseSlug(owners, id, candidates.get(index) ?? []);
          owners.set(slug, id);
          operations.push({ insertOne: { document: products.stamp(newProduct(row, id, slug)) } });
          rowOf.push({ entry, kind: "inserted" });
          continue;
        }
        if (row.id !== undefined && row.id !== current.id) {
          throw new ValidationError(
            `Product row for SKU "${row.sku}" has id "${row.id}", but the SKU belongs to product "${current.id}". Drop the id or fix the SKU.`,
            { ...errorContext(store), details: { sku: row.sku, id: row.id, existingId: current.id } },
          );
        }
        const { id: _ignored, ...fields } = row;
        const next = mergeRow(current, fields);
        if (deepEqual(current, next)) {
          result.updated += 1;
          continue;
        }
        const replacement = { ...next, version: current.version + 1, updatedAt: now().toISOString() };
        operations.push({ replaceOne: { filter: versionFilter(store, products.key(current.id), current.version), replacement: products.stamp(replacement) } });
        rowOf.push({ entry, kind: "updated" });
      } catch (error) {
        failedRow(result, index, row.sku, error);
      }
    }
    if (operations.length === 0) return;

    const { matched, writeErrors } = await products.bulkWrite(operations);
    const failedAt = new Map(writeErrors.map((failure) => [failure.index, failure]));
    for (const [position, { entry, kind }] of rowOf.entries()) {
      const failure = failedAt.get(position);
      if (!failure) {
        result[kind] += 1;
        continue;
      }
      const code = failure.code === 11000 ? "DUPLICATE_KEY" : "INTERNAL";
      const detail = failure.code === 11000 ? "its SKU or slug is already used by another product in this tenant" : failure.message;
      result.failed.push({ index: entry.index, key: entry.row.sku, code, message: `Product row for SKU "${entry.row.sku}" was not written: ${detail}.` });
    }
    // A replace whose version no longer matched was changed by another writer between the read and the write.
    const replaced = rowOf.filter((row, position) => row.kind === "updated" && !failedAt.has(position)).length;
    if (matched < replaced) {
      store.logger.warn("bulk upsert: some products changed concurrently and kept the other writer's version", {
        tenantId: products.tenantId,
        expected: replaced,
        matched,
      });
    }
  }

  return {
    async create(input: NewProduct) {
      const parsed = parseInput(newProductSchema, input, "product", errorContext(store));
      const id = parsed.id ?? randomUUID();
      const candidates = parsed.slug ? [parsed.slug] : slugCandidates(parsed.title, parsed.sku);
      const slug = chooseSlug(await slugOwners(products, candidates), id, candidates);
      const product = newProduct(parsed, id, slug);
      try {
        return await products.insert(product);
      } catch (error) {
        throw await explainDuplicate(context, products, product, ["id", "sku", "slug"], error);
      }
    },

    async get(id) {
      assertId(store, id, "product id");
      return products.findById(id);
    },

    async getBySku(sku) {
      if (typeof sku !== "string" || !SKU_PATTERN.test(sku)) {
        throw new ValidationError(`Invalid SKU ${previewValue(sku)}: expected 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.`, {
          ...errorContext(store),
          details: { sku: previewValue(sku) },
        });
      }
      return products.findOne({ sku });
    },

    async getBySlug(slug) {
      assertSlug(slug, errorContext(store));
      return products.findOne({ slug });
    },

    async listByCategory(categoryId, page: PageRequest = {}) {
      assertId(store, categoryId, "category id");
      return products.page({ categoryIds: categoryId }, { scope: `products:category:${categoryId}`, fields: [], direction: "asc" }, page);
    },

    async list(request: ProductListRequest = {}) {
      const filter: FieldFilter = request.filter ?? {};
      assertPlainFilter(filter, { allowedFields: PRODUCT_FILTER_FIELDS, context: errorContext(store) });
      return products.page(toMongoFilter(filter), { scope: "products:id", fields: [], direction: "asc" }, request);
    },

    /** Fields in the patch replace the stored ones; a field set to undefined is left unchanged. The slug stays unless the patch sets it. */
    async update(id, patch, options: WriteOptions = {}) {
      assertId(store, id, "product id");
      const parsed = parseInput(productPatchSchema, patch, "product patch", errorContext(store));
      let attempted: Product | undefined;
      try {
        const { record } = await mutateRecord(
          context,
          products,
          id,
          (current) => {
            attempted = compact({ ...current, ...compact(parsed) });
            return attempted;
          },
          { expectedVersion: options.expectedVersion },
        );
        return record;
      } catch (error) {
        throw attempted ? await explainDuplicate(context, products, attempted, ["sku", "slug"], error) : error;
      }
    },

    async delete(id) {
      assertId(store, id, "product id");
      return products.deleteOne({ _id: products.key(id) });
    },

    /**
     * Inserts rows with a new SKU and replaces the fields of rows whose SKU
     * exists, keeping id, slug (unless the row sets one) and createdAt.
     * `updated` counts matched SKUs whether or not a field changed.
     */
    async bulkUpsert(rows) {
      assertBulkSize(store, rows, "product");
      const result: BulkResult = { inserted: 0, updated: 0, failed: [] };
      const valid: Parsed<ReturnType<typeof newProductSchema.parse>>[] = [];
      rows.forEach((row, index) => {
        try {
          valid.push({ index, row: parseInput(newProductSchema, row, "product", errorContext(store)) });
        } catch (error) {
          failedRow(result, index, stringField(row, "sku"), error);
        }
      });

      for (const wave of waves(valid, (row) => row.sku)) {
        for (const chunk of chunks(wave, BULK_CHUNK)) await bulkWave(chunk, result);
      }
      result.failed.sort((a, b) => a.index - b.index);
      return result;
    },

    async count() {
      return products.count();
    },

    async searchTitle(text, options = {}) {
      if (typeof text !== "string" || text.trim().length === 0 || text.length > 200) {
        throw new ValidationError(`Invalid title search ${previewValue(text)}: expected a non-empty string of at most 200 characters.`, {
          ...errorContext(store),
          details: { text: previewValue(text) },
        });
      }
      const limit = resolveLimit(store, options.limit, 20, MAX_TITLE_SEARCH_LIMIT, "title search");
      await store.connect();
      if (store.capabilities.textSearch) {
        return products.find({ $text: { $search: text } }, { sort: { score: { $meta: "textScore" } }, limit, projection: { score: { $meta: "textScore" } } }).then(
          (rows) => rows.map(({ score: _score, ...product }: Product & { score?: number }) => product as Product),
        );
      }
      return products.find({ title: { $regex: escapeRegex(text.trim()), $options: "i" } }, { sort: { id: 1 }, limit });
    },
  };
}

/** Equality on each field; an array value matches any of its values. Values passed assertPlainFilter, so none is an operator. */
export function toMongoFilter(filter: FieldFilter, prefix = ""): Document {
  return Object.fromEntries(Object.entries(filter).map(([field, value]) => [`${prefix}${field}`, Array.isArray(value) ? { $in: value } : value]));
}

function createCategoryStore(context: ModuleContext): CategoryStore {
  const { store, now } = context;
  const categories = new TenantCollection<Category>(store, "categories", "Category");

  function candidatesFor(parsed: ReturnType<typeof newCategorySchema.parse>, current: Category | undefined): string[] {
    if (parsed.slug) return [parsed.slug];
    if (current) return [current.slug];
    // Names such as "Accessories" repeat under many parents, so a taken name slug falls back to name plus id.
    return [slugify(parsed.name, errorContext(store)), slugify(`${parsed.name} ${parsed.id}`)];
  }

  /** Upserts one chunk of categories: one read of the stored ones and their slugs, then one bulkWrite. */
  async function upsertChunk(chunk: Parsed<ReturnType<typeof newCategorySchema.parse>>[], result: BulkResult): Promise<void> {
    const stored = await categories.find({ _id: { $in: chunk.map((entry) => categories.key(entry.row.id)) } });
    const byId = new Map(stored.map((category) => [category.id, category]));
    const candidates = new Map(chunk.map((entry) => [entry.index, candidatesFor(entry.row, byId.get(entry.row.id))]));
    const owners = await slugOwners(categories, [...candidates.values()].flat());

    const operations: BulkOperation[] = [];
    const rowOf: Array<{ entry: (typeof chunk)[number]; kind: "inserted" | "updated" }> = [];
    for (const entry of chunk) {
      const { row } = entry;
      const current = byId.get(row.id);
      const slug = chooseSlug(owners, row.id, candidates.get(entry.index) ?? []);
      owners.set(slug, row.id);
      const fields = { name: row.name, slug, parentId: row.parentId, path: row.path };

      if (!current) {
        operations.push({ insertOne: { document: categories.stamp({ ...newStoredFields(row.id, categories.tenantId, now()), ...fields }) } });
        rowOf.push({ entry, kind: "inserted" });
        continue;
      }
      const next = { ...current, ...fields };
      if (deepEqual(current, next)) {
        result.updated += 1;
        continue;
      }
      const replacement = { ...next, version: current.version + 1, updatedAt: now().toISOString() };
      operations.push({ replaceOne: { filter: versionFilter(store, categories.key(row.id), current.version), replacement: categories.stamp(replacement) } });
      rowOf.push({ entry, kind: "updated" });
    }
    if (operations.length === 0) return;

    const { writeErrors } = await categories.bulkWrite(operations);
    const failedAt = new Map(writeErrors.map((failure) => [failure.index, failure]));
    for (const [position, { entry, kind }] of rowOf.entries()) {
      const failure = failedAt.get(position);
      if (!failure) {
        result[kind] += 1;
        continue;
      }
      const duplicate = failure.code === 11000;
      result.failed.push({
        index: entry.index,
        key: entry.row.id,
        code: duplicate ? "DUPLICATE_KEY" : "INTERNAL",
        message: `Category "${entry.row.id}" was not written: ${duplicate ? "its id or slug is already used by another category in this tenant" : failure.message}.`,
      });
    }
  }

  async function bulkUpsert(rows: unknown[]): Promise<BulkResult> {
    const result: BulkResult = { inserted: 0, updated: 0, failed: [] };
    const valid: Parsed<ReturnType<typeof newCategorySchema.parse>>[] = [];
    rows.forEach((row, index) => {
      try {
        valid.push({ index, row: parseInput(newCategorySchema, row, "category", errorContext(store)) });
      } catch (error) {
        failedRow(result, index, stringField(row, "id"), error);
      }
    });
    for (const wave of waves(valid, (row) => row.id)) {
      for (const chunk of chunks(wave, BULK_CHUNK)) await upsertChunk(chunk, result);
    }
    result.failed.sort((a, b) => a.index - b.index);
    return result;
  }

  return {
    async upsert(input: NewCategory) {
      const parsed = parseInput(newCategorySchema, input, "category", errorContext(store));
      const result = await store.exclusive(recordLock(categories, parsed.id), () => bulkUpsert([parsed]));
      const failure = result.failed[0];
      if (failure) {
        throw failure.code === "DUPLICATE_KEY"
          ? new DuplicateKeyError(failure.message, { ...errorContext(store), details: { kind: "Category", id: parsed.id } })
          : new BridgeError(failure.message, { ...errorContext(store), code: "INTERNAL", details: { kind: "Category", id: parsed.id } });
      }
      const stored = await categories.findById(parsed.id);
      if (!stored) throw notFound(store, "Category", parsed.id);
      return stored;
    },

    /** Parents need not exist first, so a category tree can load in any order. */
    async bulkUpsert(rows) {
      assertBulkSize(store, rows, "category");
      return bulkUpsert(rows);
    },

    async get(id) {
      assertId(store, id, "category id");
      return categories.findById(id);
    },

    async getBySlug(slug) {
      assertSlug(slug, errorContext(store));
      return categories.findOne({ slug });
    },

    /** Direct children ordered by name, then id; `null` lists the root categories. */
    async children(parentId) {
      if (parentId !== null) assertId(store, parentId, "parent category id");
      return categories.find({ parentId }, { sort: { name: 1, id: 1 } });
    },

    async list(page: PageRequest = {}) {
      return categories.page({}, { scope: "categories:id", fields: [], direction: "asc" }, page);
    },

    async count() {
      return categories.count();
    },
  };
}

function createBrandStore(context: ModuleContext): BrandStore {
  const { store, now } = context;
  const brands = new TenantCollection<Brand>(store, "brands", "Brand");

  return {
    /** Matches an existing brand by id when given, else by slug; creates one otherwise. An unchanged brand is only read. */
    async upsert(input) {
      const parsed = parseInput(newBrandSchema, input, "brand", errorContext(store));
      const slug = parsed.slug ?? slugify(parsed.name, errorContext(store));
      const lookup = () => (parsed.id !== undefined ? brands.findById(parsed.id) : brands.findOne({ slug }));

      for (let attempt = 1; ; attempt++) {
        const current = await lookup();
        if (!current) {
          const brand: Brand = { ...newStoredFields(parsed.id ?? randomUUID(), brands.tenantId, now()), name: parsed.name, slug };
          try {
            return await brands.insert(brand);
          } catch (error) {
            // The same brand created at the same moment by another call: update that one instead.
            if (isBridgeError(error, "DUPLICATE_KEY") && attempt < 3 && (await lookup())) continue;
            throw await explainDuplicate(context, brands, brand, ["id", "slug"], error);
          }
        }
        if (current.name === parsed.name && current.slug === slug) return current;

        let attempted: Brand | undefined;
        try {
          const { record } = await mutateRecord(context, brands, current.id, (stored) => {
            attempted = { ...stored, name: parsed.name, slug };
            return attempted;
          });
          return record;
        } catch (error) {
          throw attempted ? await explainDuplicate(context, brands, attempted, ["slug"], error) : error;
        }
      }
    },

    async get(id) {
      assertId(store, id, "brand id");
      return brands.findById(id);
    },

    async getBySlug(slug) {
      assertSlug(slug, errorContext(store));
      return brands.findOne({ slug });
    },

    async list(page: PageRequest = {}) {
      return brands.page({}, { scope: "brands:id", fields: [], direction: "asc" }, page);
    },
  };
}

export function createDatastore(context: ModuleContext): MongoDatastoreModule {
  return { products: createProductStore(context), categories: createCategoryStore(context), brands: createBrandStore(context) };
}
