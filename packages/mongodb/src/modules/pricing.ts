// Price lists in `price_lists`, rules in `price_rules`, stored quotes in
// `price_snapshots`. Choosing a list and applying rules is core's pricing
// engine; this module loads the candidates and stores the results.
import { randomUUID } from "node:crypto";
import {
  ValidationError,
  computePrice,
  newPriceListSchema,
  newPriceRuleSchema,
  parseInput,
  previewValue,
  priceRequestSchema,
  type PageRequest,
  type PriceList,
  type PriceQuote,
  type PriceRequest,
  type PriceRule,
  type PriceSnapshot,
  type PricingModule,
} from "@bridge/core";
import { TenantCollection } from "../collection.js";
import { assertId, errorContext, type ModuleContext } from "./shared.js";
import { upsertRecord } from "./versioned.js";

/** Largest number of lines one snapshot prices. */
export const MAX_SNAPSHOT_LINES = 1000;

export function createPricing(context: ModuleContext): PricingModule {
  const { store, now } = context;
  const priceLists = new TenantCollection<PriceList>(store, "price_lists", "Price list");
  const rules = new TenantCollection<PriceRule>(store, "price_rules", "Price rule");
  const snapshots = new TenantCollection<PriceSnapshot>(store, "price_snapshots", "Price snapshot");

  /** Prices each request with the lists that contain its SKU and all of the tenant's rules, read once per call. */
  async function quote(requests: PriceRequest[]): Promise<PriceQuote[]> {
    // Parsing first keeps operator objects out of the query and fails before any read.
    const skus = requests.map((request) => parseInput(priceRequestSchema, request, "price request", errorContext(store)).sku);
    const [lists, allRules] = await Promise.all([
      priceLists.find({ "prices.sku": { $in: [...new Set(skus)] } }),
      rules.find({ $or: [{ sku: null }, { sku: { $in: [...new Set(skus)] } }] }),
    ]);
    const at = now();
    return requests.map((request) => computePrice(lists, allRules, request, { now: at, context: errorContext(store) }));
  }

  return {
    async upsertPriceList(input) {
      const parsed = parseInput(newPriceListSchema, input, "price list", errorContext(store));
      return upsertRecord(context, priceLists, parsed.id ?? randomUUID(), {
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
      assertId(store, id, "price list id");
      return priceLists.findById(id);
    },

    async listPriceLists(page: PageRequest = {}) {
      return priceLists.page({}, { scope: "price-lists:id", fields: [], direction: "asc" }, page);
    },

    async deletePriceList(id) {
      assertId(store, id, "price list id");
      return priceLists.deleteOne({ _id: priceLists.key(id) });
    },

    async upsertRule(input) {
      const parsed = parseInput(newPriceRuleSchema, input, "price rule", errorContext(store));
      return upsertRecord(context, rules, parsed.id ?? randomUUID(), {
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
      return rules.page({}, { scope: "price-rules:id", fields: [], direction: "asc" }, page);
    },

    async deleteRule(id) {
      assertId(store, id, "price rule id");
      return rules.deleteOne({ _id: rules.key(id) });
    },

    async price(request) {
      const [result] = await quote([request]);
      return result as PriceQuote;
    },

    /** Prices every line (all in one currency) and stores the quotes; any line without a price fails the whole snapshot. */
    async snapshot(requests, options = {}) {
      if (!Array.isArray(requests) || requests.length === 0 || requests.length > MAX_SNAPSHOT_LINES) {
        throw new ValidationError(
          `Invalid price snapshot request ${previewValue(requests, 40)}: expected an array of 1 to ${MAX_SNAPSHOT_LINES} price requests.`,
          { ...errorContext(store), details: { lines: Array.isArray(requests) ? requests.length : typeof requests } },
        );
      }
      if (options.engagementId !== undefined) assertId(store, options.engagementId, "engagement id");

      const quotes = await quote(requests);
      const currencies = [...new Set(quotes.map((line) => line.currency))];
      if (currencies.length > 1) {
        throw new ValidationError(
          `Cannot snapshot prices in several currencies (${currencies.join(", ")}): pass a currency in each price request so that every line prices in one currency.`,
          { ...errorContext(store), details: { currencies } },
        );
      }
      const totalMinor = quotes.reduce((sum, line) => sum + line.totalMinor, 0);
      if (!Number.isSafeInteger(totalMinor)) {
        throw new ValidationError(`Cannot snapshot prices: the total of ${quotes.length} lines exceeds the safe integer range.`, errorContext(store));
      }

      const snapshot: PriceSnapshot = {
        id: randomUUID(),
        tenantId: snapshots.tenantId,
        engagementId: options.engagementId ?? null,
        quotes,
        totalMinor,
        currency: currencies[0] as string,
        createdAt: now().toISOString(),
      };
      return snapshots.insert(snapshot);
    },

    async getSnapshot(id) {
      assertId(store, id, "price snapshot id");
      return snapshots.findById(id);
    },
  };
}
