// Pure price computation shared by every data provider: the provider loads
// the tenant's price lists and rules, this module picks and applies them.
import { BridgeError, ValidationError } from "../errors.js";
import type { PriceEntry, PriceList, PriceQuote, PriceRequest, PriceRule } from "../roles/data/pricing.js";
import { ExactDecimal, roundDecimal } from "./decimal.js";
import type { ErrorContext } from "./filters.js";
import { parseInput, priceRequestSchema } from "./validation.js";

/**
 * Rounding of percent discounts to whole minor units. Half-even (banker's
 * rounding) keeps the sum of many rounded discounts unbiased: 1005 minor
 * units at 50% is 502, 1015 at 50% is 508.
 */
export const PRICE_ROUNDING = "half-even" as const;

export interface ComputePriceOptions {
  /** Moment to price at when the request has no `at`; defaults to the current time. */
  now?: Date;
  context?: ErrorContext;
}

/** Checks whether `at` falls in [validFrom, validTo). The start is inclusive, the end exclusive, and null leaves that side open. */
export function isValidAt(window: { validFrom: string | null; validTo: string | null }, at: Date): boolean {
  const time = at.getTime();
  if (window.validFrom !== null && time < Date.parse(window.validFrom)) return false;
  if (window.validTo !== null && time >= Date.parse(window.validTo)) return false;
  return true;
}

/**
 * Prices one SKU:
 * 1. keeps the lists valid at the request time, open to the customer, and in
 *    the requested currency when one is given;
 * 2. takes the highest-priority list with a price for the SKU at this
 *    quantity (ties go to the smaller list id);
 * 3. in that list, takes the volume break with the largest `minQuantity` not
 *    above the quantity;
 * 4. applies the matching rules to the unit price from the highest priority
 *    down (ties by id): percent_off rounds half-even, amount_off stops at
 *    zero, fixed_price replaces the price.
 * Rule amounts are minor units of the chosen list's currency. The total is
 * the final unit price times the quantity, so it always divides evenly.
 * Throws BridgeError NO_PRICE when no list prices the SKU.
 */
export function computePrice(
  priceLists: readonly PriceList[],
  rules: readonly PriceRule[],
  request: PriceRequest,
  options: ComputePriceOptions = {},
): PriceQuote {
  const context = options.context ?? {};
  const parsed = parseInput(priceRequestSchema, request, "price request", context);
  const at = parsed.at === undefined ? (options.now ?? new Date()) : new Date(parsed.at);

  const candidates = priceLists
    .filter((list) => isValidAt(list, at))
    .filter((list) => list.customerIds.length === 0 || (parsed.customerId !== undefined && list.customerIds.includes(parsed.customerId)))
    .filter((list) => parsed.currency === undefined || list.currency === parsed.currency)
    .map((list) => ({ list, entry: bestVolumeBreak(list.prices, parsed.sku, parsed.quantity) }))
    .filter((candidate): candidate is { list: PriceList; entry: PriceEntry } => candidate.entry !== null)
    .sort((a, b) => b.list.priority - a.list.priority || compareIds(a.list.id, b.list.id));

  const chosen = candidates[0];
  if (!chosen) {
    const scope = [
      parsed.customerId ? `customer "${parsed.customerId}"` : "no customer",
      parsed.currency ? `currency ${parsed.currency}` : "any currency",
      `at ${at.toISOString()}`,
    ].join(", ");
    throw new BridgeError(
      `No price for SKU "${parsed.sku}" at quantity ${parsed.quantity} (${scope}): no valid price list has an entry for it. Add the SKU to a price list that is valid then and open to this customer.`,
      { ...context, code: "NO_PRICE", details: { sku: parsed.sku, quantity: parsed.quantity, customerId: parsed.customerId, currency: parsed.currency, at: at.toISOString() } },
    );
  }

  const applicable = rules
    .filter((rule) => isValidAt(rule, at))
    .filter((rule) => rule.customerId === null || rule.customerId === parsed.customerId)
    .filter((rule) => rule.sku === null || rule.sku === parsed.sku)
    .filter((rule) => rule.minQuantity <= parsed.quantity)
    .sort((a, b) => b.priority - a.priority || compareIds(a.id, b.id));

  const baseUnit = chosen.entry.unitAmountMinor;
  const unit = applicable.reduce((amount, rule) => applyRule(amount, rule), baseUnit);

  return {
    sku: parsed.sku,
    quantity: parsed.quantity,
    currency: chosen.list.currency,
    baseUnitAmountMinor: baseUnit,
    unitAmountMinor: unit,
    totalMinor: multiplyMinor(unit, parsed.quantity, parsed.sku, context),
    priceListId: chosen.list.id,
    appliedRuleIds: applicable.map((rule) => rule.id),
  };
}

/** Finds the entry for `sku` with the largest `minQuantity` at or below `quantity`, or returns null. */
export function bestVolumeBreak(prices: readonly PriceEntry[], sku: string, quantity: number): PriceEntry | null {
  let best: PriceEntry | null = null;
  for (const entry of prices) {
    if (entry.sku !== sku) continue;
    const minQuantity = entry.minQuantity ?? 1;
    if (minQuantity > quantity) continue;
    if (best === null || minQuantity > (best.minQuantity ?? 1)) best = entry;
  }
  return best;
}

/** Applies one rule to a unit price in minor units; the result is never negative. */
export function applyRule(unitAmountMinor: number, rule: Pick<PriceRule, "kind" | "value">): number {
  switch (rule.kind) {
    case "percent_off": {
      const discounted = new ExactDecimal(unitAmountMinor).times(10_000 - rule.value).dividedBy(10_000);
      return roundDecimal(discounted, 0, PRICE_ROUNDING).toNumber();
    }
    case "amount_off":
      return Math.max(0, unitAmountMinor - rule.value);
    case "fixed_price":
      return rule.value;
  }
}

function multiplyMinor(unit: number, quantity: number, sku: string, context: ErrorContext): number {
  const total = unit * quantity;
  if (!Number.isSafeInteger(total)) {
    throw new ValidationError(
      `Cannot price SKU "${sku}": ${unit} × ${quantity} minor units exceeds the safe integer range. Split the line into smaller quantities.`,
      { ...context, details: { sku, unitAmountMinor: unit, quantity } },
    );
  }
  return total;
}

function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
