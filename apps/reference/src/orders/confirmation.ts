import { BridgeError, NotFoundError, runWithTenant, type Bridge, type Engagement, type Worker } from "@bridge/core";

/** Queue task that sends the order confirmation email. */
export const CONFIRMATION_TASK = "order.send-confirmation";

export interface ConfirmationJob {
  engagementId: string;
}

/** Returns the one key per order that the job and the email share, so neither a second publish nor a retried job sends twice. */
export function confirmationIdempotencyKey(engagementId: string): string {
  return `order-confirmation:${engagementId}`;
}

/** Sender of confirmation emails. */
export const ORDERS_FROM = "orders@bridge-reference.example.com";

/**
 * Address used when a quote was created without `email`.
 * NOTE: a real deployment looks the buyer up in its customer system; this
 * reserved documentation domain only keeps the reference flow complete.
 */
export function fallbackContactEmail(customerId: string): string {
  const local = customerId.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "customer";
  return `${local}@customers.example.com`;
}

/** Defines the worker that emails the buyer once an order is confirmed. */
export function defineConfirmationWorker(bridge: Bridge): Worker {
  const log = bridge.logs.child({ source: "order-confirmation" });

  return bridge.worker<ConfirmationJob>({
    task: CONFIRMATION_TASK,
    batchSize: 10,
    concurrency: 2,
    handler: (job) =>
      runWithTenant(job.tenantId, async () => {
        const { engagementId } = job.payload;
        const order = await bridge.data.engagements.get(engagementId);
        if (order === null) {
          throw new NotFoundError(`Order "${engagementId}" not found in tenant "${job.tenantId}"; its confirmation cannot be sent`, {
            role: "data",
            tenantId: job.tenantId,
            details: { engagementId, jobId: job.id },
          });
        }
        if (order.status !== "confirmed" && order.status !== "fulfilled" && order.status !== "complete") {
          throw new BridgeError(`Order "${engagementId}" has status "${order.status}"; a confirmation is sent only for a confirmed order`, {
            code: "CONFLICT",
            tenantId: job.tenantId,
            details: { engagementId, jobId: job.id },
          });
        }

        const result = await bridge.email.send({ ...confirmationEmail(order), idempotencyKey: confirmationIdempotencyKey(engagementId) });
        log.info(result.duplicate ? "order confirmation already sent; retry skipped" : "order confirmation sent", {
          engagementId,
          jobId: job.id,
          attempt: job.attempts,
          messageId: result.id,
          tenantId: job.tenantId,
        });

        if (order.attributes.confirmationMessageId === undefined) {
          await bridge.data.engagements.update(
            engagementId,
            { attributes: { ...order.attributes, confirmationMessageId: result.id } },
            { expectedVersion: order.version, actor: "order-confirmation" },
          );
        }
      }),
  });
}

/**
 * Builds the confirmation email. Lines show the price-list price, and the
 * totals read so that a customer can add them up: the line totals make the
 * subtotal, and subtotal - discount + tax = total.
 */
export function confirmationEmail(order: Engagement): { to: string; from: string; subject: string; text: string; tags: string[] } {
  const orderNumber = typeof order.attributes.orderNumber === "string" ? order.attributes.orderNumber : order.id;
  const contact = typeof order.attributes.contactEmail === "string" ? order.attributes.contactEmail : fallbackContactEmail(order.customerId);
  const currency = order.pricing?.currency ?? "USD";

  const lines = order.lineItems.map((line) => {
    const unit = line.unitPrice === undefined ? "" : ` at ${formatMoney(line.unitPrice.amountMinor, line.unitPrice.currency)} each`;
    const total = line.total === undefined ? "" : `: ${formatMoney(line.total.amountMinor, line.total.currency)}`;
    return `- ${line.quantity} x ${line.title ?? line.sku} (SKU ${line.sku})${unit}${total}`;
  });
  const pricing = order.pricing;
  const totals =
    pricing === null
      ? ["Prices: not yet priced"]
      : [
          `Subtotal: ${formatMoney(pricing.subtotalMinor, currency)}`,
          `Discount: ${formatMoney(-pricing.discountMinor, currency)}`,
          `Tax: ${formatMoney(pricing.taxMinor, currency)}`,
          `Total: ${formatMoney(pricing.totalMinor, currency)}`,
        ];
  const text = [`Thank you for your order ${orderNumber}.`, "", ...lines, "", ...totals].join("\n");

  return { to: contact, from: ORDERS_FROM, subject: `Order ${orderNumber} confirmed`, text, tags: ["order-confirmation"] };
}

/** Formats minor units as a decimal amount with the currency code, such as `USD 49.99`. */
export function formatMoney(amountMinor: number, currency: string): string {
  const sign = amountMinor < 0 ? "-" : "";
  const absolute = Math.abs(amountMinor);
  return `${currency} ${sign}${Math.floor(absolute / 100)}.${String(absolute % 100).padStart(2, "0")}`;
}
