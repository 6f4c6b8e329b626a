import type { Page, PageRequest, Stored } from "./common.js";

export interface PriceEntry {
  sku: string;
  /** Unit price in minor units for quantities from `minQuantity` up. */
  unitAmountMinor: number;
  /** Volume break; 1 when not given. */
  minQuantity?: number;
}

export interface PriceList extends Stored {
  name: string;
  currency: string;
  /** Higher wins when several lists price the same SKU. */
  priority: number;
  validFrom: string | null;
  validTo: string | null;
  /** Restricts the list to these customers; empty means everyone. */
  customerIds: string[];
  prices: PriceEntry[];
}

export type NewPriceList = Omit<PriceList, keyof Stored | "priority" | "validFrom" | "validTo" | "customerIds"> & {
  id?: string;
  priority?: number;
  validFrom?: string | null;
  validTo?: string | null;
  customerIds?: string[];
};

export type PriceRuleKind = "percent_off" | "amount_off" | "fixed_price";

export interface PriceRule extends Stored {
  name: string;
  kind: PriceRuleKind;
  /** Percent in basis points (1000 = 10%) for percent_off; minor units otherwise. */
  value: number;
  customerId: string | null;
  sku: string | null;
  minQuantity: number;
  validFrom: string | null;
  validTo: string | null;
  priority: number;
}

export type NewPriceRule = Pick<PriceRule, "name" | "kind" | "value"> & {
  id?: string;
  customerId?: string | null;
  sku?: string | null;
  minQuantity?: number;
  validFrom?: string | null;
  validTo?: string | null;
  priority?: number;
};

export interface PriceRequest {
  sku: string;
  quantity: number;
  customerId?: string;
  currency?: string;
  at?: Date | string;
}

export interface PriceQuote {
  sku: string;
  quantity: number;
  currency: string;
  /** Unit price from the list, before rules. */
  baseUnitAmountMinor: number;
  unitAmountMinor: number;
  totalMinor: number;
  priceListId: string;
  appliedRuleIds: string[];
}

export interface PriceSnapshot {
  id: string;
  tenantId: string;
  engagementId: string | null;
  quotes: PriceQuote[];
  totalMinor: number;
  currency: string;
  createdAt: string;
}

export interface PricingModule {
  upsertPriceList(input: NewPriceList): Promise<PriceList>;
  getPriceList(id: string): Promise<PriceList | null>;
  listPriceLists(page?: PageRequest): Promise<Page<PriceList>>;
  deletePriceList(id: string): Promise<boolean>;
  upsertRule(input: NewPriceRule): Promise<PriceRule>;
  listRules(page?: PageRequest): Promise<Page<PriceRule>>;
  deleteRule(id: string): Promise<boolean>;
  /** Throws BridgeError NO_PRICE when no valid list prices the SKU. */
  price(request: PriceRequest): Promise<PriceQuote>;
  /** Prices several lines and stores the result for audit. */
  snapshot(requests: PriceRequest[], options?: { engagementId?: string }): Promise<PriceSnapshot>;
  getSnapshot(id: string): Promise<PriceSnapshot | null>;
}
