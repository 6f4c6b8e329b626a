import { randomUUID } from "node:crypto";
import {
  BridgeError,
  InvalidTransitionError,
  NotFoundError,
  ValidationError,
  currentTenantId,
  isBridgeError,
  type Bridge,
  type Engagement,
  type EngagementPricing,
  type LineItem,
  type PriceQuote,
} from "@bridge/core";
import { CURRENCY } from "../catalog/jobs.js";
import { PRODUCTS_INDEX, productDocument } from "../catalog/search-documents.js";
import { CONFIRMATION_TASK, confirmationIdempotencyKey, type ConfirmationJob } from "./confirmation.js";

/** Statuses in which a quote's lines and prices may still change. */
const EDITABLE = new Set(["draft", "active"]);

/** Largest quantity accepted on one line; larger B2B orders go through sales. */
export const MAX_LINE_QUANTITY = 10_000;

const ACTOR = "reference-api";

export interface QuoteServiceOptions {
  /** How long submitted stock stays reserved before confirm must happen. Default: the inventory's 15 minutes. */
  reservationTtlMs?: number;
}

/**
 * The B2B quote flow over the engagement, pricing and inventory roles:
 * draft → (priced) active → (submitted, stock reserved) processing →
 * (confirmed, reservation committed) confirmed.
 */
export class QuoteService {
  constructor(
    private readonly bridge: Bridge,
    private readonly options: QuoteServiceOptions = {},
  ) {}

  async create(input: { customerId: string; email?: string }): Promise<Engagement> {
    const quote = await this.bridge.data.engagements.create(
      {
        customerId: input.customerId,
        type: "quote",
        status: "draft",
        attributes: input.email === undefined ? {} : { contactEmail: input.email },
      },
      { actor: ACTOR },
    );
    this.log().info("quote created", { engagementId: quote.id, customerId: quote.customerId });
    return quote;
  }

  async get(id: string): Promise<Engagement> {
    const quote = await this.bridge.data.engagements.get(id);
    if (quote === null || quote.type !== "quote") {
      throw new NotFoundError(`Quote "${id}" not found in tenant "${currentTenantId()}"; create one with POST /api/quotes`, {
        role: "data",
        tenantId: currentTenantId(),
        details: { quoteId: id },
      });
    }
    return quote;
  }

  /** Adds a line, or raises the quantity of the line with the same SKU. Clears the price, which no longer matches the lines. */
  async addLine(id: string, input: { sku: string; quantity: number }): Promise<Engagement> {
    const quote = await this.get(id);
    this.requireEditable(quote, "add lines to");

    const product = await this.bridge.data.datastore.products.getBySku(input.sku);
    if (product === null) {
      throw new NotFoundError(`Product with SKU "${input.sku}" not found in tenant "${currentTenantId()}"; look SKUs up with GET /api/products/search`, {
        role: "data",
        tenantId: currentTenantId(),
        details: { sku: input.sku },
      });
    }

    const lineItems: LineItem[] = quote.lineItems.map((line) => ({ ...line }));
    const existing = lineItems.find((line) => line.sku === input.sku);
    const quantity = (existing?.quantity ?? 0) + input.quantity;
    if (quantity > MAX_LINE_QUANTITY) {
      throw new ValidationError(
        `Line for SKU ${input.sku} would have quantity ${quantity}, above the maximum of ${MAX_LINE_QUANTITY} per line; contact sales for larger orders`,
        { details: { sku: input.sku, quantity, max: MAX_LINE_QUANTITY } },
      );
    }
    if (existing === undefined) {
      lineItems.push({ id: randomUUID(), sku: product.sku, title: product.title, quantity, uom: "EA" });
    } else {
      existing.quantity = quantity;
    }

    const updated = await this.bridge.data.engagements.update(
      id,
      { lineItems: lineItems.map(({ unitPrice: _unit, total: _total, ...line }) => line), pricing: null },
      { expectedVersion: quote.version, actor: ACTOR },
    );
    this.log().info("quote line added", { engagementId: id, sku: input.sku, quantity });
    return updated;
  }

  /**
   * Prices every line for the quote's customer, stores the snapshot id and
   * turns a draft active. Lines carry the price-list price for their quantity
   * (list price, or the volume break), and customer rules show up once, as
   * the quote's discount: subtotal = sum of line totals, and
   * total = subtotal - discount + tax.
   */
  async price(id: string): Promise<Engagement> {
    const quote = await this.get(id);
    this.requireEditable(quote, "price");
    if (quote.lineItems.length === 0) {
      throw new BridgeError(`Quote "${id}" has no lines to price; add one with POST /api/quotes/${id}/lines`, {
        code: "CONFLICT",
        details: { quoteId: id },
      });
    }

    const snapshot = await this.bridge.data.pricing.snapshot(
      quote.lineItems.map((line) => ({ sku: line.sku, quantity: line.quantity, customerId: quote.customerId, currency: CURRENCY })),
      { engagementId: id },
    );
    if (snapshot.quotes.length !== quote.lineItems.length) {
      throw new BridgeError(`Pricing quote "${id}" returned ${snapshot.quotes.length} prices for ${quote.lineItems.length} lines; price it again`, {
        code: "INTERNAL",
        role: "data",
        details: { quoteId: id, snapshotId: snapshot.id },
      });
    }
    const lineItems = quote.lineItems.map((line, position): LineItem => {
      const priced = snapshot.quotes[position] as PriceQuote;
      return {
        ...line,
        unitPrice: { amountMinor: priced.baseUnitAmountMinor, currency: priced.currency },
        total: { amountMinor: priced.baseUnitAmountMinor * priced.quantity, currency: priced.currency },
      };
    });
    const subtotalMinor = lineItems.reduce((sum, line) => sum + (line.total?.amountMinor ?? 0), 0);
    // The snapshot applies the customer rules to each unit price and rounds it to the cent, so the discount is in whole cents.
    const discountMinor = subtotalMinor - snapshot.totalMinor;
    // NOTE: no tax engine is wired in, so quotes are priced before tax.
    const taxMinor = 0;
    const pricing: EngagementPricing = {
      currency: snapshot.currency,
      subtotalMinor,
      discountMinor,
      taxMinor,
      totalMinor: subtotalMinor - discountMinor + taxMinor,
      pricedAt: snapshot.createdAt,
      priceListIds: [...new Set(snapshot.quotes.map((priced) => priced.priceListId))],
    };

    let updated = await this.bridge.data.engagements.update(
      id,
      { lineItems, pricing, attributes: { ...quote.attributes, priceSnapshotId: snapshot.id } },
      { expectedVersion: quote.version, actor: ACTOR },
    );
    if (updated.status === "draft") {
      updated = await this.bridge.data.engagements.transition(id, "active", { expectedVersion: updated.version, actor: ACTOR, reason: "priced" });
    }
    this.log().info("quote priced", { engagementId: id, totalMinor: pricing.totalMinor, currency: pricing.currency });
    return updated;
  }

  /** Reserves stock for every line (all or nothing) and moves the quote to processing. */
  async submit(id: string): Promise<Engagement> {
    const quote = await this.get(id);
    if (quote.status === "draft") {
      throw new InvalidTransitionError(`Quote "${id}" is a draft and cannot be submitted; price it first with POST /api/quotes/${id}/price`, {
        details: { quoteId: id, status: quote.status },
      });
    }
    if (quote.status !== "active") {
      throw new InvalidTransitionError(`Quote "${id}" cannot be submitted because its status is "${quote.status}"; only an active (priced) quote can be submitted`, {
        details: { quoteId: id, status: quote.status },
      });
    }
    if (quote.pricing === null) {
      throw new BridgeError(`Quote "${id}" changed after it was priced; price it again with POST /api/quotes/${id}/price before submitting`, {
        code: "CONFLICT",
        details: { quoteId: id },
      });
    }

    // NOTE: no timer calls inventory.expireReservations, so stock of an expired reservation stays held
    // until a confirm of its quote finds it expired (or another caller sweeps).
    // No idempotency key: two concurrent submits each get their own reservation, and the one that
    // loses the version check below releases its own stock, never the winner's.
    const reservation = await this.bridge.data.inventory.reserve({
      lines: quote.lineItems.map((line) => ({ sku: line.sku, quantity: line.quantity })),
      engagementId: id,
      ...(this.options.reservationTtlMs === undefined ? {} : { ttlMs: this.options.reservationTtlMs }),
    });

    try {
      const updated = await this.bridge.data.engagements.update(
        id,
        { fulfillment: { reservationId: reservation.id, warehouseIds: [...new Set(reservation.lines.map((line) => line.warehouseId))], status: "reserved" } },
        { expectedVersion: quote.version, actor: ACTOR },
      );
      const submitted = await this.bridge.data.engagements.transition(id, "processing", { expectedVersion: updated.version, actor: ACTOR, reason: "submitted" });
      this.log().info("quote submitted", { engagementId: id, reservationId: reservation.id, expiresAt: reservation.expiresAt });
      return submitted;
    } catch (error) {
      // The quote did not move, so the stock must not stay held for it.
      await this.bridge.data.inventory.release(reservation.id).catch((releaseError: unknown) =>
        this.log().error("releasing the reservation of a failed submit failed", { engagementId: id, reservationId: reservation.id, err: releaseError }),
      );
      throw error;
    }
  }

  /** Commits the reservation, confirms the order and queues the confirmation email. */
  async confirm(id: string): Promise<Engagement> {
    const quote = await this.get(id);
    if (quote.status !== "processing") {
      const hint = quote.status === "draft" || quote.status === "active" ? `; submit it first with POST /api/quotes/${id}/submit` : "";
      throw new InvalidTransitionError(`Quote "${id}" cannot be confirmed because its status is "${quote.status}"${hint}`, {
        details: { quoteId: id, status: quote.status },
      });
    }
    const reservationId = quote.fulfillment?.reservationId;
    if (reservationId === undefined) {
      throw new BridgeError(`Quote "${id}" is processing but has no stock reservation, so it cannot be confirmed; create a new quote for these items`, {
        code: "CONFLICT",
        details: { quoteId: id },
      });
    }

    try {
      // Committing an already committed reservation returns it, so a repeated confirm is safe.
      await this.bridge.data.inventory.commit(reservationId);
    } catch (error) {
      if (!isBridgeError(error, "RESERVATION_NOT_ACTIVE")) throw error;
      await this.cancelExpired(quote, reservationId, error);
    }

    const orderNumber = `SO-${id.replace(/-/g, "").slice(0, 10).toUpperCase()}`;
    const updated = await this.bridge.data.engagements.update(
      id,
      { fulfillment: { ...quote.fulfillment, status: "committed" }, attributes: { ...quote.attributes, orderNumber } },
      { expectedVersion: quote.version, actor: ACTOR },
    );
    const confirmed = await this.bridge.data.engagements.transition(id, "confirmed", { expectedVersion: updated.version, actor: ACTOR, reason: "confirmed" });

    const payload: ConfirmationJob = { engagementId: id };
    await this.bridge.queue.publish(CONFIRMATION_TASK, payload, { idempotencyKey: confirmationIdempotencyKey(id) });
    await this.bridge.notifications.publish("order.confirmed", { engagementId: id, orderNumber, totalMinor: confirmed.pricing?.totalMinor ?? 0 });
    this.log().info("order confirmed", { engagementId: id, orderNumber, reservationId });

    await this.refreshStockFlags(confirmed.lineItems.map((line) => line.sku));
    return confirmed;
  }

  /**
   * Cancels a processing quote whose reservation expired or was released,
   * because its stock is no longer held and it can neither be confirmed nor
   * submitted again. Always throws a RESERVATION_NOT_ACTIVE error (HTTP 409) that tells the caller what to do next.
   */
  private async cancelExpired(quote: Engagement, reservationId: string, cause: BridgeError): Promise<never> {
    const reservation = await this.bridge.data.inventory.getReservation(reservationId);
    await this.bridge.data.engagements.transition(quote.id, "cancelled", { expectedVersion: quote.version, actor: ACTOR, reason: "stock reservation no longer active" });
    this.log().warn("quote cancelled because its reservation is no longer active", {
      engagementId: quote.id,
      reservationId,
      reservationStatus: reservation?.status,
      err: cause,
    });
    throw new BridgeError(
      `Quote "${quote.id}" cannot be confirmed because its stock reservation ${reservationId} is ${reservation?.status ?? "gone"} (expiry ${reservation?.expiresAt ?? "unknown"}). The quote is now cancelled; create a new quote to order these items`,
      { code: "RESERVATION_NOT_ACTIVE", role: "data", tenantId: currentTenantId(), details: { quoteId: quote.id, reservationId }, cause },
    );
  }

  /** Re-indexes `in_stock` for SKUs whose last unit was just sold. Search is a view, so a failure here only logs. */
  private async refreshStockFlags(skus: string[]): Promise<void> {
    for (const sku of skus) {
      try {
        const availability = await this.bridge.data.inventory.availability(sku);
        if (availability.available > 0) continue;
        const product = await this.bridge.data.datastore.products.getBySku(sku);
        if (product !== null) await this.bridge.search.index(PRODUCTS_INDEX, productDocument(product, false));
      } catch (error) {
        if (!isBridgeError(error)) throw error;
        this.log().warn("could not refresh the in_stock flag in search", { sku, err: error });
      }
    }
  }

  private requireEditable(quote: Engagement, action: string): void {
    if (!EDITABLE.has(quote.status)) {
      throw new InvalidTransitionError(`Cannot ${action} quote "${quote.id}" because its status is "${quote.status}"; only draft or active quotes change`, {
        details: { quoteId: quote.id, status: quote.status },
      });
    }
  }

  private log() {
    return this.bridge.logs.child({ source: "quotes", tenantId: currentTenantId() });
  }
}
