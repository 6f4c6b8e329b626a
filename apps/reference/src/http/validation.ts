import { ValidationError } from "@bridge/core";
import { z } from "zod";

export type RequestPart = "query" | "body" | "params" | "header";

/**
 * Parses one part of a request with a zod schema. On failure it throws a
 * ValidationError whose message names every bad field, the value received and
 * what is expected, such as `query.page: expected a whole number from 1 to 1000 (got "-1")`.
 */
export function parseRequest<S extends z.ZodTypeAny>(schema: S, input: unknown, part: RequestPart): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;

  const problems = result.error.issues.map((issue) => {
    const field = [part, ...issue.path].join(".");
    const received = valueAt(input, issue.path);
    const got = received === undefined ? "nothing" : JSON.stringify(received);
    return { field, message: issue.message, received: received === undefined ? null : received, text: `${field}: ${issue.message} (got ${got})` };
  });
  throw new ValidationError(`Invalid request: ${problems.map((problem) => problem.text).join("; ")}`, {
    details: { problems: problems.map(({ text: _text, ...problem }) => problem) },
  });
}

function valueAt(input: unknown, path: ReadonlyArray<string | number>): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** A single query-string value; a repeated parameter arrives as an array and is rejected. */
const single = z.string({ invalid_type_error: "expected a single value", required_error: "is required" });

/** Whole number in a query string, such as `page=2`. */
export function queryInteger(min: number, max: number) {
  return single
    .trim()
    .regex(/^-?\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `expected a whole number from ${min} to ${max}`).max(max, `expected a whole number from ${min} to ${max}`));
}

/** Decimal number in a query string within a range, such as `lat=44.97`. */
export function queryNumber(min: number, max: number, what: string) {
  const message = `expected ${what} from ${min} to ${max}`;
  return single
    .trim()
    .regex(/^-?(\d+(\.\d*)?|\.\d+)$/, message)
    .transform(Number)
    .pipe(z.number().finite(message).min(min, message).max(max, message));
}

/** Dollar amount with at most two decimals, converted to integer minor units (`12.5` becomes 1250). */
export const dollarsAsMinor = single
  .trim()
  .regex(/^\d{1,9}(\.\d{1,2})?$/, "expected an amount in dollars such as 25 or 19.99 (at most two decimals, not negative)")
  .transform((text) => {
    const [whole = "0", fraction = ""] = text.split(".");
    return Number(whole) * 100 + Number(fraction.padEnd(2, "0"));
  });

/** Free text from a query string, trimmed, with a length limit. */
export function queryText(max: number) {
  return single.trim().max(max, `expected at most ${max} characters`);
}

/** SKUs are the digits from the product image name, but any short code of letters, digits, dot, dash or underscore is accepted. */
export const skuSchema = z
  .string({ invalid_type_error: "expected a string", required_error: "is required" })
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "expected a SKU of 1 to 64 letters, digits, dots, dashes or underscores");

export const quoteIdSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, "expected a quote id of 1 to 128 letters, digits, dots, dashes, colons or underscores");

export const tenantIdSchema = z
  .string({ invalid_type_error: "expected a single value" })
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "expected a tenant id of 1 to 64 letters, digits, dots, dashes or underscores");
