// Exact decimal arithmetic for quantities and money, built on decimal.js.
// Quantities and factors travel as decimal strings so that no value ever
// passes through binary floating point.
import Decimal from "decimal.js";
import { ValidationError } from "../errors.js";
import type { ErrorContext } from "./filters.js";
import { previewValue } from "./json.js";

/**
 * Precision of intermediate results in significant digits. Inputs have at most
 * 40 significant digits and a conversion path multiplies at most a handful of
 * factors, so products stay exact and only a final division can round.
 */
const INTERMEDIATE_PRECISION = 1000;

export const ExactDecimal = Decimal.clone({
  precision: INTERMEDIATE_PRECISION,
  rounding: Decimal.ROUND_HALF_EVEN,
  toExpNeg: -9e15,
  toExpPos: 9e15,
});
export type ExactDecimal = InstanceType<typeof ExactDecimal>;

/** Plain decimal notation: optional minus, integer part without leading zeros, optional fraction. No exponent. */
export const DECIMAL_PATTERN = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
export const MAX_SIGNIFICANT_DIGITS = 40;

/** Decimal places kept by UOM conversions whose exact result does not terminate, such as 1/3. */
export const UOM_SCALE = 12;

export type RoundingMode = "half-even" | "half-up";

const ROUNDING: Record<RoundingMode, Decimal.Rounding> = {
  "half-even": Decimal.ROUND_HALF_EVEN,
  "half-up": Decimal.ROUND_HALF_UP,
};

/** Parses a decimal string such as "0.45359237"; throws ValidationError naming `field` otherwise. */
export function parseDecimal(text: unknown, field: string, context: ErrorContext = {}): ExactDecimal {
  if (typeof text !== "string" || !DECIMAL_PATTERN.test(text)) {
    throw new ValidationError(
      `Invalid ${field} ${previewValue(text)}: expected a decimal string such as "12" or "0.5" (no exponent, no leading "+", no thousands separators).`,
      { ...context, details: { field, value: previewValue(text) } },
    );
  }
  const value = new ExactDecimal(text);
  if (value.precision(true) > MAX_SIGNIFICANT_DIGITS) {
    throw new ValidationError(
      `Invalid ${field} "${text}": it has more than ${MAX_SIGNIFICANT_DIGITS} significant digits.`,
      { ...context, details: { field, value: text } },
    );
  }
  return value;
}

/** Formats in plain notation without trailing zeros; negative zero becomes "0". */
export function formatDecimal(value: ExactDecimal): string {
  return value.isZero() ? "0" : value.toFixed();
}

export function roundDecimal(value: ExactDecimal, places: number, mode: RoundingMode): ExactDecimal {
  return value.toDecimalPlaces(places, ROUNDING[mode]);
}

/** Adds decimal strings exactly: `addDecimals(["0.1", "0.2"])` is "0.3". */
export function addDecimals(values: readonly string[], field = "value", context: ErrorContext = {}): string {
  const sum = values.reduce((total, text) => total.plus(parseDecimal(text, field, context)), new ExactDecimal(0));
  return formatDecimal(sum);
}

/** Multiplies decimal strings exactly. */
export function multiplyDecimals(a: string, b: string, field = "value", context: ErrorContext = {}): string {
  return formatDecimal(parseDecimal(a, field, context).times(parseDecimal(b, field, context)));
}

/**
 * Converts a major-unit amount ("19.99" or 19.99) to integer minor units with
 * `exponent` decimal places (2 for USD), rounding half-even. A number is read
 * through its shortest decimal form, so 19.99 is taken as "19.99".
 */
export function toMinorUnits(amount: unknown, exponent = 2, field = "amount", context: ErrorContext = {}): number {
  const text = typeof amount === "number" && Number.isFinite(amount) ? numberToDecimalString(amount) : amount;
  const minor = roundDecimal(parseDecimal(text, field, context).times(new ExactDecimal(10).pow(exponent)), 0, "half-even");
  const result = minor.toNumber();
  if (!Number.isSafeInteger(result)) {
    throw new ValidationError(`Invalid ${field} ${previewValue(amount)}: it is too large for integer minor units.`, {
      ...context,
      details: { field, value: previewValue(amount) },
    });
  }
  return result === 0 ? 0 : result;
}

function numberToDecimalString(value: number): string {
  // Decimal reads a number through its shortest round-trip form, the same digits String(value) prints.
  return formatDecimal(new ExactDecimal(value));
}
