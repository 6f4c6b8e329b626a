import type { Money, Page, PageRequest, Stored, WriteOptions } from "./common.js";

export type EngagementType = "order" | "quote" | "cart";

export type EngagementStatus = "draft" | "active" | "processing" | "confirmed" | "fulfilled" | "complete" | "cancelled";

export interface LineItem {
  id: string;
  sku: string;
  title?: string;
  quantity: number;
  /** Unit of measure code; "EA" when not given. */
  uom?: string;
  unitPrice?: Money;
  total?: Money;
  warehouseId?: string;
  attributes?: Record<string, unknown>;
}

export interface EngagementPricing {
  currency: string;
  subtotalMinor: number;
  discountMinor: number;
  taxMinor: number;
  totalMinor: number;
  pricedAt: string;
  priceListIds: string[];
}

export interface Fulfillment {
  reservationId?: string;
  warehouseIds?: string[];
  method?: string;
  address?: Record<string, unknown>;
  status?: string;
}

export interface Engagement extends Stored {
  customerId: string;
  type: EngagementType;
  status: EngagementStatus;
  lineItems: LineItem[];
  pricing: EngagementPricing | null;
  fulfillment: Fulfillment | null;
  /** Free-form facts such as `orderNumber`; values are plain JSON. */
  attributes: Record<string, unknown>;
}

export interface NewEngagement {
  id?: string;
  customerId: string;
  type: EngagementType;
  status?: "draft" | "active";
  lineItems?: LineItem[];
  attributes?: Record<string, unknown>;
}

export type EngagementPatch = Partial<Pick<Engagement, "lineItems" | "pricing" | "fulfillment" | "attributes" | "customerId">>;

export interface EngagementChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface EngagementEvent {
  id: string;
  engagementId: string;
  tenantId: string;
  /** The engagement version this event produced. */
  version: number;
  type: "created" | "updated" | "status_changed";
  actor: string;
  at: string;
  changes: EngagementChange[];
  /** Reason given to `transition`, such as why an order was cancelled. */
  reason?: string;
  /** The engagement as it was after this event. */
  snapshot: Engagement;
}

export interface EngagementQuery extends PageRequest {
  customerId?: string;
  status?: EngagementStatus | EngagementStatus[];
  type?: EngagementType;
  createdFrom?: Date | string;
  createdTo?: Date | string;
  orderNumber?: string;
}

export interface EngagementStore {
  create(input: NewEngagement, options?: WriteOptions): Promise<Engagement>;
  get(id: string): Promise<Engagement | null>;
  /** Throws NotFoundError, VersionConflictError. */
  update(id: string, patch: EngagementPatch, options?: WriteOptions): Promise<Engagement>;
  /** Throws InvalidTransitionError unless the lifecycle allows `from → to`. */
  transition(id: string, to: EngagementStatus, options?: WriteOptions & { reason?: string }): Promise<Engagement>;
  /** Newest first by `createdAt`, then id. */
  query(query: EngagementQuery): Promise<Page<Engagement>>;
  history(id: string): Promise<EngagementEvent[]>;
  /** The engagement as it was at `version`, from its event snapshots. */
  snapshotAt(id: string, version: number): Promise<Engagement | null>;
}

/** Allowed status changes. Cancellation is allowed from active or processing only. */
export const ENGAGEMENT_TRANSITIONS: Readonly<Record<EngagementStatus, readonly EngagementStatus[]>> = {
  draft: ["active"],
  active: ["processing", "cancelled"],
  processing: ["confirmed", "cancelled"],
  confirmed: ["fulfilled"],
  fulfilled: ["complete"],
  complete: [],
  cancelled: [],
};
