// Price lists, price rules and price snapshots. The choice and arithmetic
// live in the provider-neutral pricing engine; this module only stores.
import { randomUUID } from "node:crypto";
import { paginate } from "../../data/cursor.js";
import { previewValue } from "../../data/json.js";
import { computePrice } from "../../data/pricing-engine.js";
import { newPriceListSchema, newPriceRuleSchema, parseInput } from "../../data/validation.js";
import { ValidationError } from "../../errors.js";
import type { PageRequest } from "../../roles/data/common.js";
import type { PriceList, PriceQuote, PriceRequest, PriceRule, PriceSnapshot, PricingModule } from "../../roles/data/pricing.js";
import { currentTenantId } from "../../tenant.js";
import { type Clock, TenantCollection, assertId, errorContext, upsertVersioned } from "./store.js";

/** Largest number of lines one snapshot prices. */
export const MAX_SNAPSHOT_LINES = 1000;

export function createMemoryPricing(clock: Clock): PricingModule {
  const priceLists = new TenantCollection<PriceList>("Price list");
  const rules = new TenantCollection<PriceRule>("Price rule");
  const snapshots = new TenantCollection<PriceSnapshot>("Price snapshot");

  function quote(request: PriceRequest): PriceQuote {
    const tenantId = currentTenantId();
    // computePrice reads its inputs without changing them and returns new objects, so no copies are needed.
    return computePrice(priceLists.peekAll(tenantId), rules.peekAll(tenantId), request, { now: clock.now(), context: errorContext() });
  }

  return {
    async upsertPriceList(input) {
      const parsed = parseInput(newPriceListSchema, input, "price list", errorContext());
      return upsertVersioned(priceLists, clock, parsed.id ?? randomUUID(), {
        name: parsed.name,
        currency: parsed.currency,
        priority: parsed.priority ?? 0,
        validFrom: parsed.validFrom ?? null,
        validTo: parsed.validTo ?? null,
        customerIds: parsed.customerIds ?? [],
        prices: parsed.prices,
      });
    },

    async getPriceList(id) {
      assertId(id, "price list id");
      return priceLists.get(currentTenantId(), id) ?? null;
    },

    async listPriceLists(page: PageRequest = {}) {
      return paginate(priceLists.all(currentTenantId()), { scope: "price-lists:id", key: () => [], direction: "asc" }, page, errorContext());
    },

    async deletePriceList(id) {
      assertId(id, "price list id");
      return priceLists.delete(currentTenantId(), id);
    },

    async upsertRule(input) {
      const parsed = parseInput(newPriceRuleSchema, input, "price rule", errorContext());
      return upsertVersioned(rules, clock, parsed.id ?? randomUUID(), {
        name: parsed.name,
        kind: parsed.kind,
        value: parsed.value,
        customerId: parsed.customerId ?? null,
        sku: parsed.sku ?? null,
        minQuantity: parsed.minQuantity ?? 1,
        validFrom: parsed.validFrom ?? null,
        validTo: parsed.validTo ?? null,
        priority: parsed.priority ?? 0,
      });
    },

    async listRules(page: PageRequest = {}) {
      return paginate(rules.all(currentTenantId()), { scope: "price-rules:id", key: () => [], direction: "asc" }, page, errorContext());
    },

    async deleteRule(id) {
      assertId(id, "price rule id");
      return rules.delete(currentTenantId(), id);
    },

    async price(request) {
      return quote(request);
    },

    /** Prices every line (all in one currency) and stores the quotes; any line without a price fails the whole snapshot. */
    async snapshot(requests, options = {}) {
      if (!Array.isArray(requests) || requests.length === 0 || requests.length > MAX_SNAPSHOT_LINES) {
        throw new ValidationError(
          `Invalid price snapshot request ${previewValue(requests, 40)}: expected an array of 1 to ${MAX_SNAPSHOT_LINES} price requests.`,
          { ...errorContext(), details: { lines: Array.isArray(requests) ? requests.length : typeof requests } },
        );
      }
      if (options.engagementId !== undefined) assertId(options.engagementId, "engagement id");

      const quotes = requests.map((request) => quote(request));
      const currencies = [...new Set(quotes.map((line) => line.currency))];
      if (currencies.length > 1) {
        throw new ValidationError(
          `Cannot snapshot prices in several currencies (${currencies.join(", ")}): pass a currency in each price request so that every line prices in one currency.`,
          { ...errorContext(), details: { currencies } },
        );
      }

      const totalMinor = quotes.reduce((sum, line) => sum + line.totalMinor, 0);
      if (!Number.isSafeInteger(totalMinor)) {
        throw new ValidationError(`Cannot snapshot prices: the total of ${quotes.length} lines exceeds the safe integer range.`, errorContext());
      }
      const tenantId = currentTenantId();
      const snapshot: PriceSnapshot = {
        id: randomUUID(),
        tenantId,
        engagementId: options.engagementId ?? null,
        quotes,
        totalMinor,
        currency: currencies[0] as string,
        createdAt: clock.now().toISOString(),
      };
      return snapshots.insert(tenantId, snapshot);
    },

    async getSnapshot(id) {
      assertId(id, "price snapshot id");
      return snapshots.get(currentTenantId(), id) ?? null;
    },
  };
}
