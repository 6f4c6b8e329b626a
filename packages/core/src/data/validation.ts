// Zod schemas for the New* inputs of the data role. Every provider parses
// input through these, so MongoDB and the embedded store accept and reject
// exactly the same values.
import { z } from "zod";
import { ValidationError } from "../errors.js";
import { DECIMAL_PATTERN } from "./decimal.js";
import type { ErrorContext } from "./filters.js";
import { FORBIDDEN_KEYS, describeNonJson, previewValue } from "./json.js";
import { MAX_SLUG_LENGTH, SLUG_PATTERN } from "./slug.js";

/** 1 to 64 characters: letters, digits, `.`, `_` or `-`, starting with a letter or digit. */
export const SKU_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Record ids and names: 1 to 128 characters without spaces, `$` or `/`. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$/;
/** ISO 4217 alphabetic code. Only the format is checked, because runtimes disagree on the list of codes. */
export const CURRENCY_PATTERN = /^[A-Z]{3}$/;
export const UOM_CODE_PATTERN = /^[A-Za-z0-9_]{1,16}$/;
/** Dot path such as `offers.0.price`; each segment is letters, digits, `_` or `-`. */
export const DOT_PATH_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_][A-Za-z0-9_-]*)*$/;

export const idSchema = z
  .string()
  .regex(ID_PATTERN, "must be 1 to 128 letters, digits, '.', '_', ':', '@', '+' or '-', starting with a letter or digit");
export const skuSchema = z
  .string()
  .regex(SKU_PATTERN, "must be a SKU of 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
export const currencySchema = z
  .string()
  .regex(CURRENCY_PATTERN, "must be an ISO 4217 currency code of three upper-case letters, such as USD");
export const slugSchema = z
  .string()
  .max(MAX_SLUG_LENGTH)
  .regex(SLUG_PATTERN, "must be lower-case letters and digits joined by single hyphens");
export const uomCodeSchema = z.string().regex(UOM_CODE_PATTERN, "must be a unit code of 1 to 16 letters, digits or '_'");
export const dotPathSchema = z
  .string()
  .max(256)
  .regex(DOT_PATH_PATTERN, "must be a dot path such as 'price.amount'")
  .refine((path) => path.split(".").every((segment) => !FORBIDDEN_KEYS.has(segment)), "must not contain __proto__, constructor or prototype");

/** Integer minor units (cents for USD) within the safe integer range. */
export const minorUnitsSchema = z.number().int("must be an integer number of minor units").safe();
export const nonNegativeMinorUnitsSchema = minorUnitsSchema.nonnegative();
export const quantitySchema = z.number().int("must be a whole number").positive().safe();
export const moneySchema = z.object({ amountMinor: nonNegativeMinorUnitsSchema, currency: currencySchema }).strict();
export const isoDateTimeSchema = z.string().datetime({ offset: true, message: "must be an ISO 8601 date-time such as 2025-01-31T00:00:00Z" });
export const nameSchema = z.string().trim().min(1, "must not be empty").max(500);

/** Builds the schema of a plain JSON object; `field` names it in messages. */
export function jsonObjectSchema(field: string) {
  return z.record(z.unknown()).superRefine((value, ctx) => {
    const problem = describeNonJson(value, field);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  });
}

export const jsonValueSchema = z.unknown().superRefine((value, ctx) => {
  const problem = describeNonJson(value, "value");
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

// ---- engagements

export const engagementTypeSchema = z.enum(["order", "quote", "cart"]);
export const engagementStatusSchema = z.enum(["draft", "active", "processing", "confirmed", "fulfilled", "complete", "cancelled"]);

export const lineItemSchema = z
  .object({
    id: idSchema,
    sku: skuSchema,
    title: z.string().max(500).optional(),
    quantity: quantitySchema,
    uom: uomCodeSchema.optional(),
    unitPrice: moneySchema.optional(),
    total: moneySchema.optional(),
    warehouseId: idSchema.optional(),
    attributes: jsonObjectSchema("attributes").optional(),
  })
  .strict();

export const lineItemsSchema = z
  .array(lineItemSchema)
  .max(1000)
  .superRefine((items, ctx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      if (seen.has(item.id)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [index, "id"], message: `duplicates line item id "${item.id}"; give each line its own id` });
      }
      seen.add(item.id);
    });
  });

export const newEngagementSchema = z
  .object({
    id: idSchema.optional(),
    customerId: idSchema,
    type: engagementTypeSchema,
    status: z.enum(["draft", "active"]).optional(),
    lineItems: lineItemsSchema.optional(),
    attributes: jsonObjectSchema("attributes").optional(),
  })
  .strict();

export const engagementPricingSchema = z
  .object({
    currency: currencySchema,
    subtotalMinor: minorUnitsSchema,
    discountMinor: minorUnitsSchema,
    taxMinor: minorUnitsSchema,
    totalMinor: minorUnitsSchema,
    pricedAt: isoDateTimeSchema,
    priceListIds: z.array(idSchema),
  })
  .strict();

export const fulfillmentSchema = z
  .object({
    reservationId: idSchema.optional(),
    warehouseIds: z.array(idSchema).optional(),
    method: z.string().max(200).optional(),
    address: jsonObjectSchema("address").optional(),
    status: z.string().max(100).optional(),
  })
  .strict();

export const engagementPatchSchema = z
  .object({
    lineItems: lineItemsSchema.optional(),
    pricing: engagementPricingSchema.nullable().optional(),
    fulfillment: fulfillmentSchema.nullable().optional(),
    attributes: jsonObjectSchema("attributes").optional(),
    customerId: idSchema.optional(),
  })
  .strict();

export const engagementQuerySchema = z
  .object({
    customerId: idSchema.optional(),
    status: z.union([engagementStatusSchema, z.array(engagementStatusSchema).min(1)]).optional(),
    type: engagementTypeSchema.optional(),
    createdFrom: z.union([z.date(), isoDateTimeSchema]).optional(),
    createdTo: z.union([z.date(), isoDateTimeSchema]).optional(),
    orderNumber: z.string().min(1).max(200).optional(),
    limit: z.number().optional(),
    cursor: z.string().nullable().optional(),
  })
  .strict();

// ---- datastore

const productFields = {
  sku: skuSchema,
  title: nameSchema,
  slug: slugSchema.optional(),
  description: z.string().max(20_000).optional(),
  brand: z.string().trim().min(1).max(200).optional(),
  categoryIds: z.array(idSchema).max(50).optional(),
  categories: z.array(z.string().min(1).max(200)).max(50).optional(),
  price: moneySchema.optional(),
  imageUrl: z.string().url().max(2000).optional(),
  popularity: z.number().finite().optional(),
  attributes: jsonObjectSchema("attributes").optional(),
};

export const newProductSchema = z.object({ id: idSchema.optional(), ...productFields }).strict();
export const productPatchSchema = z.object(productFields).partial().strict();

export const newCategorySchema = z
  .object({
    id: idSchema,
    name: nameSchema,
    slug: slugSchema.optional(),
    parentId: idSchema.nullable(),
    path: z.array(z.object({ id: idSchema, name: nameSchema }).strict()).min(1).max(20),
  })
  .strict()
  .superRefine((category, ctx) => {
    const last = category.path[category.path.length - 1];
    if (last && last.id !== category.id) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["path"], message: `must end with the category itself (id "${category.id}")` });
    }
    const parent = category.path[category.path.length - 2];
    if ((parent?.id ?? null) !== category.parentId) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["parentId"],
        message: `must equal the id before the last in path (${parent ? `"${parent.id}"` : "null for a root category"})`,
      });
    }
  });

export const newBrandSchema = z.object({ id: idSchema.optional(), name: nameSchema, slug: slugSchema.optional() }).strict();

// ---- inventory

export const geoPointSchema = z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).strict();

export const newWarehouseSchema = z
  .object({
    id: idSchema,
    name: nameSchema,
    location: geoPointSchema.nullable().optional(),
    address: jsonObjectSchema("address").optional(),
    capacity: z.number().int().nonnegative().safe().optional(),
    attributes: jsonObjectSchema("attributes").optional(),
  })
  .strict();

/** Maximum reservation lifetime: 7 days. Stock set aside for longer belongs on a purchase order, not in a reservation. */
export const MAX_RESERVATION_TTL_MS = 7 * 24 * 60 * 60_000;

export const reserveRequestSchema = z
  .object({
    lines: z
      .array(z.object({ sku: skuSchema, quantity: quantitySchema, warehouseId: idSchema.optional() }).strict())
      .min(1, "must contain at least one line")
      .max(500),
    engagementId: idSchema.optional(),
    ttlMs: z.number().int().positive().max(MAX_RESERVATION_TTL_MS).optional(),
    idempotencyKey: z.string().min(1).max(200).optional(),
  })
  .strict();

export const stockQuantitySchema = z.number().int("must be a whole number").nonnegative().safe();
export const stockDeltaSchema = z.number().int("must be a whole number").safe();

// ---- pricing

export const priceEntrySchema = z
  .object({ sku: skuSchema, unitAmountMinor: nonNegativeMinorUnitsSchema, minQuantity: quantitySchema.optional() })
  .strict();

function refineValidity(value: { validFrom?: string | null; validTo?: string | null }, ctx: z.RefinementCtx): void {
  if (value.validFrom && value.validTo && Date.parse(value.validFrom) >= Date.parse(value.validTo)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["validTo"], message: "must be later than validFrom" });
  }
}

export const newPriceListSchema = z
  .object({
    id: idSchema.optional(),
    name: nameSchema,
    currency: currencySchema,
    priority: z.number().int().safe().optional(),
    validFrom: isoDateTimeSchema.nullable().optional(),
    validTo: isoDateTimeSchema.nullable().optional(),
    customerIds: z.array(idSchema).max(10_000).optional(),
    prices: z.array(priceEntrySchema).max(100_000),
  })
  .strict()
  .superRefine((list, ctx) => {
    refineValidity(list, ctx);
    const seen = new Set<string>();
    list.prices.forEach((entry, index) => {
      const key = `${entry.sku}@${entry.minQuantity ?? 1}`;
      if (seen.has(key)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ["prices", index],
          message: `repeats SKU "${entry.sku}" with minQuantity ${entry.minQuantity ?? 1}; keep one entry per volume break`,
        });
      }
      seen.add(key);
    });
  });

export const newPriceRuleSchema = z
  .object({
    id: idSchema.optional(),
    name: nameSchema,
    kind: z.enum(["percent_off", "amount_off", "fixed_price"]),
    value: nonNegativeMinorUnitsSchema,
    customerId: idSchema.nullable().optional(),
    sku: skuSchema.nullable().optional(),
    minQuantity: quantitySchema.optional(),
    validFrom: isoDateTimeSchema.nullable().optional(),
    validTo: isoDateTimeSchema.nullable().optional(),
    priority: z.number().int().safe().optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    refineValidity(rule, ctx);
    if (rule.kind === "percent_off" && rule.value > 10_000) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["value"], message: "must be at most 10000 basis points (100%) for percent_off" });
    }
  });

export const priceRequestSchema = z
  .object({
    sku: skuSchema,
    quantity: quantitySchema,
    customerId: idSchema.optional(),
    currency: currencySchema.optional(),
    at: z.union([z.date(), isoDateTimeSchema]).optional(),
  })
  .strict();

// ---- UOM

export const unitDefinitionSchema = z
  .object({
    code: uomCodeSchema,
    name: nameSchema,
    dimension: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, "must be a lower-case dimension name such as count, mass or length"),
  })
  .strict();

export const unitConversionSchema = z
  .object({
    from: uomCodeSchema,
    to: uomCodeSchema,
    factor: z
      .string()
      .regex(DECIMAL_PATTERN, "must be a decimal string such as \"12\" or \"0.45359237\"")
      .refine((factor) => /[1-9]/.test(factor) && !factor.startsWith("-"), "must be greater than zero"),
    sku: skuSchema.optional(),
  })
  .strict();

export const uomConfigurationInputSchema = z
  .object({ name: idSchema, units: z.array(unitDefinitionSchema).min(1).max(1000), conversions: z.array(unitConversionSchema).max(10_000) })
  .strict();

// ---- workers

export const workerRegistrationSchema = z
  .object({
    id: idSchema.optional(),
    workerType: idSchema,
    communityId: idSchema,
    hostname: z.string().min(1).max(255),
    pid: z.number().int().nonnegative().safe(),
    tasks: z.array(z.string().min(1).max(200)).max(500),
    attributes: jsonObjectSchema("attributes").optional(),
  })
  .strict();

const counterSchema = z.number().int().nonnegative().safe();

export const workerVitalsSchema = z
  .object({ rssBytes: counterSchema, heapUsedBytes: counterSchema, inFlight: counterSchema, processed: counterSchema, failed: counterSchema })
  .strict();

export const workerStatusSchema = z.enum(["starting", "running", "draining", "stopped", "stale"]);

// ---- lists

export const newListSchema = z
  .object({ customerId: idSchema, kind: z.enum(["favourites", "wishlist", "saved_cart"]), name: nameSchema })
  .strict();

export const newListItemSchema = z
  .object({ sku: skuSchema, quantity: quantitySchema.optional(), note: z.string().max(1000).optional() })
  .strict();

// ---- translators

export const fieldMappingSchema = z
  .object({
    from: dotPathSchema,
    to: dotPathSchema,
    transform: idSchema.optional(),
    default: jsonValueSchema.optional(),
    required: z.boolean().optional(),
  })
  .strict();

export const translatorSaveSchema = z
  .object({
    name: idSchema,
    mappings: z.array(fieldMappingSchema).min(1, "must contain at least one mapping").max(1000),
    overrides: z.record(idSchema, z.array(fieldMappingSchema).max(1000)).optional(),
  })
  .strict();

// ---- management

export const tenantInputSchema = z
  .object({ id: idSchema, name: nameSchema, status: z.enum(["active", "suspended"]).optional() })
  .strict();

export const flagKeySchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, "must be a flag key of lower-case letters, digits, '.', '_' or '-', such as checkout.new-flow");

export const flagInputSchema = z
  .object({ key: flagKeySchema, defaultEnabled: z.boolean(), description: z.string().max(1000).optional() })
  .strict();

export const configKeySchema = flagKeySchema;

/**
 * Parses `input` with `schema`; throws ValidationError listing every problem
 * with its path and the value received. `label` names the input, such as "product".
 */
export function parseInput<S extends z.ZodTypeAny>(schema: S, input: unknown, label: string, context: ErrorContext = {}): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data as z.output<S>;

  const issues = result.error.issues.map((issue) => {
    const path = issue.path.length > 0 ? formatPath(issue.path) : label;
    return { path, message: issue.message, value: previewValue(valueAt(input, issue.path), 60) };
  });
  const lines = issues.map((issue) => `${issue.path}: ${issue.message} (got ${issue.value})`);
  throw new ValidationError(`Invalid ${label}: ${lines.join("; ")}. Fix these fields and retry.`, {
    ...context,
    details: { issues },
  });
}

function formatPath(path: Array<string | number>): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? segment : `.${segment}`;
  }
  return text;
}

function valueAt(input: unknown, path: Array<string | number>): unknown {
  let current = input;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}
