import { expect, it } from "vitest";
import { expectBridgeError } from "../../harness.js";
import { uniqueIds, walkPages, type DataCaseContext } from "./context.js";

export function registerListCases({ start }: DataCaseContext): void {
  it("items are added and merged", async () => {
    const { data, asA, tenantA } = await start();
    await asA(async () => {
      const list = await data.lists.create({ customerId: "customer-1", kind: "wishlist", name: "Birthday" });
      expect(list).toMatchObject({ customerId: "customer-1", kind: "wishlist", name: "Birthday", tenantId: tenantA, shareToken: null });

      await data.lists.addItem(list.id, { sku: "4984700" });
      const merged = await data.lists.addItem(list.id, { sku: "4984700", quantity: 2, note: "blue one" });
      expect(merged.quantity).toBe(3);
      await data.lists.addItem(list.id, { sku: "5577301", quantity: 1 });
      expect((await data.lists.items(list.id)).map((item) => [item.sku, item.quantity]).sort()).toEqual([
        ["4984700", 3],
        ["5577301", 1],
      ]);

      expect(await data.lists.removeItem(list.id, "4984700")).toBe(true);
      expect(await data.lists.removeItem(list.id, "4984700")).toBe(false);
      expect((await data.lists.items(list.id)).map((item) => item.sku)).toEqual(["5577301"]);
    });
  });

  it("shared list is read by token", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      const list = await data.lists.create({ customerId: "customer-1", kind: "saved_cart", name: "Office refresh" });
      await data.lists.addItem(list.id, { sku: "4984700", quantity: 5 });

      const token = await data.lists.share(list.id);
      expect(token.length, "a share token must be hard to guess").toBeGreaterThanOrEqual(16);
      const shared = await data.lists.getShared(token);
      expect(shared?.list.id).toBe(list.id);
      expect(shared?.items.map((item) => item.sku)).toEqual(["4984700"]);

      await data.lists.unshare(list.id);
      expect(await data.lists.getShared(token)).toBeNull();
      expect((await data.lists.get(list.id))?.shareToken).toBeNull();
      expect(await data.lists.getShared("no-such-token")).toBeNull();
    });
  });

  it("lists page per customer", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      for (let n = 0; n < 5; n++) await data.lists.create({ customerId: "customer-1", kind: "favourites", name: `List ${n}` });
      await data.lists.create({ customerId: "customer-2", kind: "favourites", name: "Other" });
      const lists = await walkPages(2, (page) => data.lists.listForCustomer("customer-1", page));
      expect(uniqueIds(lists)).toHaveLength(5);

      const deleted = lists[0]!;
      expect(await data.lists.delete(deleted.id)).toBe(true);
      expect(await data.lists.get(deleted.id)).toBeNull();
      expect(await data.lists.delete(deleted.id)).toBe(false);
    });
  });

  it("invalid list input is rejected", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await expectBridgeError(data.lists.create({ customerId: "customer-1", kind: "basket" as never, name: "x" }), "VALIDATION_FAILED", ["basket"]);
      const list = await data.lists.create({ customerId: "customer-1", kind: "wishlist", name: "Birthday" });
      await expectBridgeError(data.lists.addItem(list.id, { sku: "4984700", quantity: 0 }), "VALIDATION_FAILED");
      await expectBridgeError(data.lists.addItem(list.id, { sku: "4984700", quantity: -2 }), "VALIDATION_FAILED", ["-2"]);
      await expectBridgeError(data.lists.addItem("no-such-list", { sku: "4984700" }), "NOT_FOUND", ["no-such-list"]);
      expect(await data.lists.items(list.id)).toEqual([]);
    });
  });

  it("tenants are isolated", async () => {
    const { data, asA, asB } = await start();
    const list = await asA(async () => {
      const created = await data.lists.create({ customerId: "customer-1", kind: "wishlist", name: "Birthday" });
      await data.lists.addItem(created.id, { sku: "4984700" });
      return created;
    });
    await asB(async () => {
      expect(await data.lists.get(list.id)).toBeNull();
      expect((await data.lists.listForCustomer("customer-1")).items).toEqual([]);
      await expectBridgeError(data.lists.addItem(list.id, { sku: "5577301" }), "NOT_FOUND");
      expect(await data.lists.delete(list.id)).toBe(false);
    });
    await asA(async () => {
      expect(await data.lists.items(list.id)).toHaveLength(1);
    });
  });
}
