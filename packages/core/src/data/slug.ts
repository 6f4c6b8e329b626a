import { ValidationError } from "../errors.js";
import type { ErrorContext } from "./filters.js";
import { previewValue } from "./json.js";

/** Lower-case ASCII letters and digits in groups joined by single hyphens. */
export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const MAX_SLUG_LENGTH = 96;

/**
 * Builds a URL slug from text: accents are stripped ("Café" → "cafe"), every
 * other run of non-alphanumeric characters becomes one hyphen, and the result
 * is cut at a hyphen boundary to at most 96 characters. Throws
 * ValidationError when nothing usable is left.
 */
export function slugify(text: string, context: ErrorContext = {}): string {
  const ascii = text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/&/g, " and ")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");

  let slug = ascii;
  if (slug.length > MAX_SLUG_LENGTH) {
    slug = slug.slice(0, MAX_SLUG_LENGTH);
    const lastHyphen = slug.lastIndexOf("-");
    if (lastHyphen > 0) slug = slug.slice(0, lastHyphen);
  }

  if (slug.length === 0) {
    throw new ValidationError(
      `Cannot build a slug from ${previewValue(text)}: it has no letters or digits. Pass an explicit slug.`,
      { ...context, details: { text: previewValue(text) } },
    );
  }
  return slug;
}

export function assertSlug(slug: unknown, context: ErrorContext = {}): asserts slug is string {
  if (typeof slug !== "string" || slug.length > MAX_SLUG_LENGTH || !SLUG_PATTERN.test(slug)) {
    throw new ValidationError(
      `Invalid slug ${previewValue(slug)}: use lower-case letters and digits joined by single hyphens, at most ${MAX_SLUG_LENGTH} characters, such as "sony-65-inch-tv".`,
      { ...context, details: { slug: previewValue(slug) } },
    );
  }
}
