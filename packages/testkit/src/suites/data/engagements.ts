import type { EngagementQuery, NewEngagement } from "@bridge/core";
import { expect, it } from "vitest";
import { expectBridgeError } from "../../harness.js";
import { INJECTION_VALUES, uniqueIds, walkPages, type DataCaseContext } from "./context.js";

const ORDER: NewEngagement = {
  customerId: "customer-1",
  type: "order",
  lineItems: [
    { id: "line-1", sku: "4984700", title: "Samsung Galaxy Express 3", quantity: 2, uom: "EA" },
    { id: "line-2", sku: "5577301", quantity: 1 },
  ],
  attributes: { orderNumber: "1001", channel: "web" },
};

export function registerEngagementCases({ start }: DataCaseContext): void {
  it("create and get", async () => {
    const { data, asA, tenantA } = await start();
    await asA(async () => {
      const created = await data.engagements.create(ORDER);
      expect(created.id).toMatch(/\S/);
      expect(created.tenantId).toBe(tenantA);
      expect(created.version).toBe(1);
      expect(created.status).toBe("draft");
      expect(created.lineItems).toEqual(expect.arrayContaining([expect.objectContaining({ sku: "4984700", quantity: 2 })]));
      expect(created.attributes).toEqual({ orderNumber: "1001", channel: "web" });
      expect(Number.isNaN(Date.parse(created.createdAt))).toBe(false);

      expect(await data.engagements.get(created.id)).toEqual(created);
      expect(await data.engagements.get("no-such-engagement")).toBeNull();
    });
  });

  it("update checks the version", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const created = await data.engagements.create(ORDER);
      const updated = await data.engagements.update(created.id, { attributes: { orderNumber: "1001", channel: "phone" } }, { expectedVersion: 1 });
      expect(updated.version).toBe(2);
      expect(updated.attributes.channel).toBe("phone");

      await expectBridgeError(
        data.engagements.update(created.id, { attributes: { channel: "stale" } }, { expectedVersion: 1 }),
        "VERSION_CONFLICT",
        [created.id],
      );
      expect((await data.engagements.get(created.id))?.attributes.channel).toBe("phone");
      await expectBridgeError(data.engagements.update("no-such-engagement", { attributes: {} }), "NOT_FOUND", ["no-such-engagement"]);
    });
  });

  it("concurrent updates: one wins", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const created = await data.engagements.create(ORDER);
      const results = await Promise.allSettled(
        [1, 2, 3, 4, 5].map((n) => data.engagements.update(created.id, { attributes: { writer: n } }, { expectedVersion: 1 })),
      );

      const fulfilled = results.filter((result) => result.status === "fulfilled");
      expect(fulfilled, "updates that passed the version check").toHaveLength(1);
      for (const result of results) {
        if (result.status === "rejected") await expectBridgeError(Promise.reject(result.reason), "VERSION_CONFLICT");
      }
      expect((await data.engagements.get(created.id))?.version).toBe(2);
    });
  });

  it("transitions follow the lifecycle", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const order = await data.engagements.create(ORDER);
      await expectBridgeError(data.engagements.transition(order.id, "complete"), "INVALID_TRANSITION", ["draft", "complete"]);

      let current = order;
      for (const status of ["active", "processing", "confirmed", "fulfilled", "complete"] as const) {
        current = await data.engagements.transition(order.id, status);
        expect(current.status).toBe(status);
      }
      expect(current.version).toBe(6);
      await expectBridgeError(data.engagements.transition(order.id, "cancelled"), "INVALID_TRANSITION");

      const cart = await data.engagements.create({ ...ORDER, type: "cart", status: "active" });
      expect((await data.engagements.transition(cart.id, "cancelled", { reason: "customer asked" })).status).toBe("cancelled");
      const confirmed = await data.engagements.create({ ...ORDER, status: "active" });
      await data.engagements.transition(confirmed.id, "processing");
      await data.engagements.transition(confirmed.id, "confirmed");
      await expectBridgeError(data.engagements.transition(confirmed.id, "cancelled"), "INVALID_TRANSITION", ["confirmed"]);
    });
  });

  it("history records every change", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const created = await data.engagements.create(ORDER, { actor: "shop-frontend" });
      await data.engagements.update(created.id, { customerId: "customer-2" }, { actor: "ops@example.com" });
      await data.engagements.transition(created.id, "active", { actor: "ops@example.com" });

      const history = await data.engagements.history(created.id);
      expect(history.map((event) => event.type)).toEqual(["created", "updated", "status_changed"]);
      expect(history.map((event) => event.version)).toEqual([1, 2, 3]);
      expect(history[1]?.actor).toBe("ops@example.com");
      expect(history[1]?.changes).toContainEqual({ field: "customerId", from: "customer-1", to: "customer-2" });
      expect(history[2]?.changes).toContainEqual({ field: "status", from: "draft", to: "active" });

      const first = await data.engagements.snapshotAt(created.id, 1);
      expect(first?.version).toBe(1);
      expect(first?.customerId).toBe("customer-1");
      expect(first?.status).toBe("draft");
      expect(await data.engagements.snapshotAt(created.id, 99)).toBeNull();
    });
  });

  it("query filters and pages", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      for (let n = 0; n < 7; n++) {
        await data.engagements.create({ ...ORDER, customerId: "customer-1", attributes: { orderNumber: `20${n}` }, status: n < 3 ? "active" : "draft" });
      }
      await data.engagements.create({ ...ORDER, customerId: "customer-2", attributes: { orderNumber: "300" } });

      const query: EngagementQuery = { customerId: "customer-1" };
      const items = await walkPages(3, (page) => data.engagements.query({ ...query, ...page }));
      expect(uniqueIds(items)).toHaveLength(7);
      const created = items.map((item) => Date.parse(item.createdAt));
      expect(created, "newest first").toEqual([...created].sort((a, b) => b - a));

      expect((await data.engagements.query({ customerId: "customer-1", status: "active" })).items).toHaveLength(3);
      expect((await data.engagements.query({ status: ["active", "draft"] })).items).toHaveLength(8);
      const byNumber = await data.engagements.query({ orderNumber: "300" });
      expect(byNumber.items.map((item) => item.customerId)).toEqual(["customer-2"]);
    });
  });

  it("tenants are isolated", async () => {
    const { data, asA, asB } = await start();
    const created = await asA(() => data.engagements.create(ORDER));
    await asB(async () => {
      expect(await data.engagements.get(created.id)).toBeNull();
      expect((await data.engagements.query({})).items).toEqual([]);
      expect((await data.engagements.query({ customerId: "customer-1" })).items).toEqual([]);
      await expectBridgeError(data.engagements.update(created.id, { attributes: { leaked: true } }), "NOT_FOUND");
      await expectBridgeError(data.engagements.transition(created.id, "active"), "NOT_FOUND");
      expect(await data.engagements.history(created.id)).toEqual([]);
    });
    await asA(async () => {
      expect((await data.engagements.get(created.id))?.version).toBe(1);
    });
  });

  it("invalid input is rejected", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await expectBridgeError(data.engagements.create({ ...ORDER, type: "invoice" as never }), "VALIDATION_FAILED", ["invoice"]);
      await expectBridgeError(
        data.engagements.create({ ...ORDER, lineItems: [{ id: "line-1", sku: "4984700", quantity: -1 }] }),
        "VALIDATION_FAILED",
        ["-1"],
      );
      await expectBridgeError(data.engagements.create({ ...ORDER, customerId: "" }), "VALIDATION_FAILED");
      await expectBridgeError(data.engagements.query({ cursor: "not-a-cursor" }), "VALIDATION_FAILED");
    });
  });

  it("query rejects operator values", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await data.engagements.create(ORDER);
      // These query fields are typed strings rather than a FieldFilter, so a type error (VALIDATION_FAILED) counts too.
      const codes = ["INVALID_FILTER", "VALIDATION_FAILED"] as const;
      for (const { label, value } of INJECTION_VALUES) {
        await expectBridgeError(data.engagements.query({ customerId: value as string }), [...codes], ["customerId"], `customerId ${label}`);
        await expectBridgeError(data.engagements.query({ orderNumber: value as string }), [...codes], ["orderNumber"], `orderNumber ${label}`);
      }
    });
  });
}
