import { decodeHTML } from "entities";
import { CategoryIndex } from "./categories.js";
import { previewValue, type Rejection } from "./rejections.js";

/** A source product that passed validation, in the shape the import jobs carry. */
export interface ProductRow {
  /** 0-based index in the source file, so later failures can name the record. */
  sourceIndex: number;
  sku: string;
  title: string;
  description?: string;
  brand?: string;
  /** Category labels as the source gives them, general to specific. */
  categories: string[];
  /** Ids of the labels found in the category tree, general to specific. */
  categoryIds: string[];
  priceMinor: number;
  imageUrl: string;
  popularity: number;
}

export interface ProductMapping {
  accepted: ProductRow[];
  rejected: Rejection[];
}

const IMAGE_NAME = /^(\d+)(?:_[^/]*)?\.(?:jpe?g|png|gif|webp)$/i;

/**
 * Derives the Best Buy SKU from an image URL: the leading digits of the file
 * name (`.../4984700_sb.jpg` and `.../8737187_220x260_sb.jpg` give `4984700`
 * and `8737187`). Returns null when the file name does not start with digits.
 */
export function skuFromImageUrl(image: string): string | null {
  let pathname = image.trim();
  try {
    pathname = new URL(pathname).pathname;
  } catch {
    // Not an absolute URL: treat the value as a path.
  }
  const fileName = pathname.split("/").at(-1) ?? "";
  const match = IMAGE_NAME.exec(fileName);
  return match?.[1] ?? null;
}

/** Converts a dollar amount to integer cents; null unless it is a positive number with at most two decimals. */
export function dollarsToMinor(price: number): number | null {
  if (!Number.isFinite(price) || price <= 0) return null;
  const cents = Math.round(price * 100);
  // Accepts binary floating-point noise (79.99 * 100 = 7998.999...), rejects a third decimal.
  if (Math.abs(cents - price * 100) > 1e-6) return null;
  return cents;
}

/**
 * Validates the product records and derives their SKUs. Duplicate rule: the
 * first record with a SKU wins and every later one is rejected as
 * `duplicate-sku`, naming the index of the record that kept the SKU.
 */
export function mapProducts(records: readonly unknown[], categories: CategoryIndex): ProductMapping {
  const accepted: ProductRow[] = [];
  const rejected: Rejection[] = [];
  const firstIndexBySku = new Map<string, number>();

  records.forEach((record, index) => {
    const result = readProduct(record, index, categories);
    if ("reason" in result) {
      rejected.push(result);
      return;
    }
    const firstIndex = firstIndexBySku.get(result.sku);
    if (firstIndex !== undefined) {
      rejected.push({
        index,
        reason: "duplicate-sku",
        sku: result.sku,
        value: result.sku,
        message: `SKU ${result.sku} is already used by record ${firstIndex}; the first record wins`,
      });
      return;
    }
    firstIndexBySku.set(result.sku, index);
    accepted.push(result);
  });
  return { accepted, rejected };
}

function readProduct(record: unknown, index: number, categories: CategoryIndex): ProductRow | Rejection {
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    return { index, reason: "not-an-object", value: previewValue(record), message: "product record is not a JSON object" };
  }
  const source = record as Record<string, unknown>;

  const title = typeof source.name === "string" ? decodeHTML(source.name).trim() : "";
  if (title === "") {
    return { index, reason: "missing-name", value: previewValue(source.name), message: "product has no name; a non-empty string is required" };
  }

  if (typeof source.image !== "string" || source.image.trim() === "") {
    return { index, reason: "missing-image", value: previewValue(source.image), message: "product has no image URL, so no SKU can be derived from it" };
  }
  const sku = skuFromImageUrl(source.image);
  if (sku === null) {
    return {
      index,
      reason: "sku-not-in-image",
      value: previewValue(source.image),
      message: "image file name does not start with the numeric SKU (expected a name such as 4984700_sb.jpg)",
    };
  }

  if (source.price === undefined || source.price === null) {
    return { index, reason: "missing-price", sku, message: `product ${sku} has no price` };
  }
  const priceMinor = typeof source.price === "number" ? dollarsToMinor(source.price) : null;
  if (priceMinor === null) {
    return {
      index,
      reason: "invalid-price",
      sku,
      value: previewValue(source.price),
      message: `product ${sku} has price ${JSON.stringify(source.price)}; expected a positive number of dollars with at most two decimals`,
    };
  }

  // Optional fields of the wrong type are dropped, not fatal: the record still sells.
  const labels = Array.isArray(source.categories)
    ? source.categories.filter((label): label is string => typeof label === "string" && label.trim() !== "").map((label) => label.trim())
    : [];
  const description = typeof source.description === "string" ? decodeHTML(source.description).trim() : "";
  const brand = typeof source.brand === "string" ? decodeHTML(source.brand).trim() : "";
  const popularity = typeof source.popularity === "number" && Number.isFinite(source.popularity) ? source.popularity : 0;

  return {
    sourceIndex: index,
    sku,
    title,
    ...(description === "" ? {} : { description }),
    ...(brand === "" ? {} : { brand }),
    categories: labels,
    categoryIds: categories.resolve(labels).ids,
    priceMinor,
    imageUrl: source.image.trim(),
    popularity,
  };
}
