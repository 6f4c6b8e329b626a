// Field filters are equality on data values only. A database provider turns a
// scalar into `{ field: value }` and an array into `{ field: { $in: values } }`;
// nothing from the caller ever becomes an operator.
import { type BridgeErrorOptions, InvalidFilterError } from "../errors.js";
import type { FieldFilter } from "../roles/data/common.js";
import { FORBIDDEN_KEYS, isPlainObject, previewValue } from "./json.js";

export type ErrorContext = Omit<BridgeErrorOptions, "code">;

/** Top-level field names: a letter or `_`, then letters, digits, `_` or `-`. */
export const FIELD_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,99}$/;

export const MAX_FILTER_FIELDS = 32;
export const MAX_FILTER_VALUES = 1000;

export interface PlainFilterOptions {
  /** When set, only these field names may be filtered on. */
  allowedFields?: readonly string[];
  context?: ErrorContext;
}

const ALLOWED_VALUES = "a string, a finite number, a boolean, null, or an array of strings, numbers and booleans";

/**
 * Throws InvalidFilterError unless `filter` is a plain object of field names
 * to data values. Rejects operator keys and values (`{ "$ne": null }`,
 * `"$where"`), nested objects, functions, dotted paths and unknown fields, and
 * names the field and value in the message.
 */
export function assertPlainFilter(filter: unknown, options: PlainFilterOptions = {}): asserts filter is FieldFilter {
  const context = options.context ?? {};
  if (!isPlainObject(filter)) {
    throw new InvalidFilterError(
      `Invalid filter ${previewValue(filter)}: expected a plain object of field names to values, such as { "brand": "Sony" }.`,
      { ...context, details: { filter: previewValue(filter) } },
    );
  }

  const fields = Object.keys(filter);
  if (fields.length > MAX_FILTER_FIELDS) {
    throw new InvalidFilterError(
      `Invalid filter: it has ${fields.length} fields and at most ${MAX_FILTER_FIELDS} are allowed. Narrow the filter.`,
      { ...context, details: { fields: fields.length } },
    );
  }

  for (const field of fields) {
    assertFieldName(field, options);
    assertFieldValue(field, filter[field], context);
  }
}

function assertFieldName(field: string, options: PlainFilterOptions): void {
  const context = options.context ?? {};
  if (field.startsWith("$")) {
    throw new InvalidFilterError(
      `Invalid filter field "${field}": operators are not allowed. Filter by field names with plain values, such as { "status": "active" }.`,
      { ...context, details: { field } },
    );
  }
  if (!FIELD_NAME_PATTERN.test(field) || FORBIDDEN_KEYS.has(field)) {
    throw new InvalidFilterError(
      `Invalid filter field ${previewValue(field)}: use a top-level field name of letters, digits, "_" or "-" that starts with a letter or "_" (dotted paths are not supported).`,
      { ...context, details: { field } },
    );
  }
  if (options.allowedFields && !options.allowedFields.includes(field)) {
    throw new InvalidFilterError(
      `Invalid filter field "${field}": it cannot be filtered on. Allowed fields: ${options.allowedFields.join(", ")}.`,
      { ...context, details: { field, allowedFields: [...options.allowedFields] } },
    );
  }
}

function assertFieldValue(field: string, value: unknown, context: ErrorContext): void {
  if (Array.isArray(value)) {
    if (value.length > MAX_FILTER_VALUES) {
      throw new InvalidFilterError(
        `Invalid filter value for "${field}": the array has ${value.length} values and at most ${MAX_FILTER_VALUES} are allowed.`,
        { ...context, details: { field, values: value.length } },
      );
    }
    value.forEach((item, index) => {
      if (item === null || !isScalar(item)) rejectValue(`${field}[${index}]`, item, context);
      assertNotOperatorString(`${field}[${index}]`, item, context);
    });
    return;
  }
  if (value !== null && !isScalar(value)) rejectValue(field, value, context);
  assertNotOperatorString(field, value, context);
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value));
}

function rejectValue(field: string, value: unknown, context: ErrorContext): never {
  throw new InvalidFilterError(
    `Invalid filter value for "${field}": ${previewValue(value)} is not allowed. Use ${ALLOWED_VALUES}; objects, operators and functions are rejected.`,
    { ...context, details: { field, value: previewValue(value) } },
  );
}

function assertNotOperatorString(field: string, value: unknown, context: ErrorContext): void {
  if (typeof value === "string" && value.startsWith("$")) {
    throw new InvalidFilterError(
      `Invalid filter value for "${field}": ${previewValue(value)} starts with "$", which a database reads as an operator or field reference. Remove the "$".`,
      { ...context, details: { field, value: previewValue(value) } },
    );
  }
}

/**
 * Tests a record against a filter that passed `assertPlainFilter`, with
 * MongoDB's equality rules. An array filter value matches any of its values.
 * A record field that is an array matches when one element equals the value.
 * `null` also matches a missing field.
 */
export function matchesFilter(record: Record<string, unknown>, filter: FieldFilter): boolean {
  return Object.entries(filter).every(([field, expected]) => {
    const actual = Object.prototype.hasOwnProperty.call(record, field) ? record[field] : undefined;
    const candidates = Array.isArray(expected) ? expected : [expected];
    return candidates.some((candidate) => matchesValue(actual, candidate));
  });
}

function matchesValue(actual: unknown, expected: string | number | boolean | null): boolean {
  if (expected === null) return actual === null || actual === undefined;
  if (Array.isArray(actual)) return actual.some((item) => item === expected);
  return actual === expected;
}
