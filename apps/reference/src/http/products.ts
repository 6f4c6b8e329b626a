import { NotFoundError, currentTenantId, isBridgeError, type Bridge, type SearchFilter } from "@bridge/core";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { CURRENCY, VOLUME_BREAK } from "../catalog/jobs.js";
import { PRODUCTS_INDEX, type ProductSearchDocument } from "../catalog/search-documents.js";
import { FacetValueLookup } from "./facet-values.js";
import { autocompleteOrEmpty, searchOrEmpty } from "./search-helpers.js";
import { inTenant } from "./tenant.js";
import { dollarsAsMinor, parseRequest, queryInteger, queryText, skuSchema } from "./validation.js";

const booleanFlag = z.enum(["true", "false"], { message: "expected true or false" }).transform((value) => value === "true");

const searchQuerySchema = z
  .object({
    q: queryText(200).optional(),
    brand: queryText(100).optional(),
    category: queryText(100).optional(),
    minPrice: dollarsAsMinor.optional(),
    maxPrice: dollarsAsMinor.optional(),
    inStock: booleanFlag.optional(),
    fuzzy: booleanFlag.optional(),
    facetSize: queryInteger(1, 500).default("20"),
    page: queryInteger(1, 1000).default("1"),
    pageSize: queryInteger(1, 100).default("20"),
  })
  .refine((query) => query.minPrice === undefined || query.maxPrice === undefined || query.minPrice <= query.maxPrice, {
    message: "expected minPrice to be at most maxPrice",
    path: ["minPrice"],
  });

const autocompleteQuerySchema = z.object({
  prefix: queryText(100).pipe(z.string().min(1, "expected at least 1 character")),
  limit: queryInteger(1, 20).default("8"),
});

const skuParamsSchema = z.object({ sku: skuSchema });

export function registerProductRoutes(app: FastifyInstance, bridge: Bridge): void {
  /** Full-text search with brand and category facets. Query prices are dollars and response prices are minor units. */
  app.get("/api/products/search", (request) =>
    inTenant(request, async () => {
      const query = parseRequest(searchQuerySchema, request.query, "query");

      // Brand and category match without regard to case, and the response names the stored spelling that was applied.
      const facetValues = new FacetValueLookup(bridge.search);
      const brand = query.brand ? await facetValues.filter("brand", query.brand) : undefined;
      const category = query.category ? await facetValues.filter("category", query.category) : undefined;

      const filters: SearchFilter[] = [];
      if (brand !== undefined) filters.push(brand.filter);
      if (category !== undefined) filters.push(category.filter);
      if (query.minPrice !== undefined || query.maxPrice !== undefined) {
        filters.push({ field: "price", ...(query.minPrice === undefined ? {} : { gte: query.minPrice }), ...(query.maxPrice === undefined ? {} : { lte: query.maxPrice }) });
      }
      if (query.inStock !== undefined) filters.push({ field: "in_stock", eq: query.inStock });

      const text = query.q === undefined || query.q === "" ? undefined : query.q;
      const result = await searchOrEmpty<ProductSearchDocument>(bridge.search, {
        index: PRODUCTS_INDEX,
        ...(text === undefined ? { sort: [{ field: "popularity", order: "desc" as const }] } : { text }),
        ...(query.fuzzy === true ? { fuzzy: true } : {}),
        filters,
        facets: ["brand", "category"],
        facetSize: query.facetSize,
        page: query.page,
        pageSize: query.pageSize,
      });

      return {
        query: {
          q: text ?? null,
          brand: brand?.applied ?? null,
          category: category?.applied ?? null,
          minPriceMinor: query.minPrice ?? null,
          maxPriceMinor: query.maxPrice ?? null,
          inStock: query.inStock ?? null,
        },
        total: result.total,
        page: result.page,
        pageSize: result.pageSize,
        hits: result.hits.map((hit) => ({
          sku: hit.document.sku,
          title: hit.document.title,
          brand: hit.document.brand,
          category: hit.document.category,
          price: { amountMinor: hit.document.price, currency: CURRENCY },
          inStock: hit.document.in_stock,
          popularity: hit.document.popularity,
          score: hit.score,
        })),
        facets: {
          brand: await facetValues.mergeFacet("brand", result.facets.brand ?? []),
          category: await facetValues.mergeFacet("category", result.facets.category ?? []),
        },
      };
    }),
  );

  app.get("/api/products/autocomplete", (request) =>
    inTenant(request, async () => {
      const query = parseRequest(autocompleteQuerySchema, request.query, "query");
      const suggestions = await autocompleteOrEmpty(bridge.search, PRODUCTS_INDEX, query.prefix, { limit: query.limit });
      return { prefix: query.prefix, suggestions };
    }),
  );

  /** One product with its stock by warehouse and its unit price at 1 unit and at the volume break. */
  app.get("/api/products/:sku", (request) =>
    inTenant(request, async () => {
      const { sku } = parseRequest(skuParamsSchema, request.params, "params");
      const product = await bridge.data.datastore.products.getBySku(sku);
      if (product === null) {
        throw new NotFoundError(`Product with SKU "${sku}" not found in tenant "${currentTenantId()}"; look SKUs up with GET /api/products/search`, {
          role: "data",
          tenantId: currentTenantId(),
          details: { sku },
        });
      }

      const availability = await bridge.data.inventory.availability(sku);
      const unitPrice = async (quantity: number) => {
        try {
          const quote = await bridge.data.pricing.price({ sku, quantity, currency: CURRENCY });
          return { quantity, unitAmountMinor: quote.unitAmountMinor, currency: quote.currency };
        } catch (error) {
          if (isBridgeError(error, "NO_PRICE")) return null;
          throw error;
        }
      };

      return {
        product,
        availability: {
          onHand: availability.onHand,
          reserved: availability.reserved,
          available: availability.available,
          byWarehouse: availability.byWarehouse.map((level) => ({ warehouseId: level.warehouseId, onHand: level.onHand, reserved: level.reserved, available: level.available })),
        },
        prices: (await Promise.all([unitPrice(1), unitPrice(VOLUME_BREAK.minQuantity)])).filter((price) => price !== null),
      };
    }),
  );
}
