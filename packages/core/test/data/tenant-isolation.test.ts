import { describe, expect, it } from "vitest";
import { createMemoryData } from "../../src/embedded/data/index.js";
import { NotFoundError } from "../../src/errors.js";
import { runWithTenant } from "../../src/tenant.js";

const data = createMemoryData();
const asA = <T>(fn: () => Promise<T>) => runWithTenant("tenant-a", fn);
const asB = <T>(fn: () => Promise<T>) => runWithTenant("tenant-b", fn);

describe("tenant isolation", () => {
  it("engagements by id", async () => {
    const engagement = await asA(() => data.engagements.create({ customerId: "c1", type: "order" }));

    expect(await asB(() => data.engagements.get(engagement.id))).toBeNull();
    await expect(asB(() => data.engagements.update(engagement.id, { attributes: { hacked: true } }))).rejects.toBeInstanceOf(NotFoundError);
    await expect(asB(() => data.engagements.transition(engagement.id, "active"))).rejects.toBeInstanceOf(NotFoundError);
    expect(await asB(() => data.engagements.history(engagement.id))).toEqual([]);
    expect(await asB(() => data.engagements.snapshotAt(engagement.id, 1))).toBeNull();
    expect((await asB(() => data.engagements.query({}))).items).toEqual([]);

    const stored = await asA(() => data.engagements.get(engagement.id));
    expect(stored?.attributes).toEqual({});
    expect(stored?.status).toBe("draft");
    expect(stored?.tenantId).toBe("tenant-a");
  });

  it("products by id, SKU and slug", async () => {
    const product = await asA(() => data.datastore.products.create({ sku: "ISO-1", title: "Isolated" }));

    expect(await asB(() => data.datastore.products.get(product.id))).toBeNull();
    expect(await asB(() => data.datastore.products.getBySku("ISO-1"))).toBeNull();
    expect(await asB(() => data.datastore.products.getBySlug(product.slug))).toBeNull();
    await expect(asB(() => data.datastore.products.update(product.id, { title: "Stolen" }))).rejects.toBeInstanceOf(NotFoundError);
    expect(await asB(() => data.datastore.products.delete(product.id))).toBe(false);
    expect(await asB(() => data.datastore.products.count())).toBe(0);

    expect((await asA(() => data.datastore.products.get(product.id)))?.title).toBe("Isolated");
    // The same SKU and slug are free in another tenant.
    const other = await asB(() => data.datastore.products.create({ sku: "ISO-1", title: "Isolated" }));
    expect(other.slug).toBe(product.slug);
  });

  it("same caller-given id in two tenants", async () => {
    await asA(() => data.engagements.create({ id: "order-7", customerId: "a-customer", type: "order" }));
    await asB(() => data.engagements.create({ id: "order-7", customerId: "b-customer", type: "order" }));
    expect((await asA(() => data.engagements.get("order-7")))?.customerId).toBe("a-customer");
    expect((await asB(() => data.engagements.get("order-7")))?.customerId).toBe("b-customer");
  });

  it("inventory and reservations", async () => {
    await asA(() => data.inventory.upsertWarehouse({ id: "wh", name: "A" }));
    await asA(() => data.inventory.setStock("ISO-1", "wh", 5));
    const reservation = await asA(() => data.inventory.reserve({ lines: [{ sku: "ISO-1", quantity: 1, warehouseId: "wh" }] }));

    expect(await asB(() => data.inventory.getStock("ISO-1", "wh"))).toBeNull();
    expect((await asB(() => data.inventory.availability("ISO-1"))).onHand).toBe(0);
    await expect(asB(() => data.inventory.setStock("ISO-1", "wh", 9))).rejects.toBeInstanceOf(NotFoundError);
    expect(await asB(() => data.inventory.getReservation(reservation.id))).toBeNull();
    await expect(asB(() => data.inventory.release(reservation.id))).rejects.toBeInstanceOf(NotFoundError);
    await expect(asB(() => data.inventory.commit(reservation.id))).rejects.toBeInstanceOf(NotFoundError);
    expect(await asB(() => data.inventory.expireReservations(new Date(Date.now() + 86_400_000)))).toBe(0);
    expect(await asB(() => data.inventory.movements("ISO-1"))).toEqual([]);

    expect((await asA(() => data.inventory.getReservation(reservation.id)))?.status).toBe("active");
  });

  it("repository documents", async () => {
    await asA(() => data.repository.put("notes", "n1", { text: "a" }));
    expect(await asB(() => data.repository.get("notes", "n1"))).toBeNull();
    expect(await asB(() => data.repository.delete("notes", "n1"))).toBe(false);
    expect((await asB(() => data.repository.find("notes", {}))).items).toEqual([]);
    const created = await asB(() => data.repository.put("notes", "n1", { text: "b" }));
    expect(created.version).toBe(1);
    expect((await asA(() => data.repository.get("notes", "n1")))?.data).toEqual({ text: "a" });
  });

  it("lists and share tokens", async () => {
    const list = await asA(() => data.lists.create({ customerId: "c1", kind: "wishlist", name: "Gifts" }));
    const token = await asA(() => data.lists.share(list.id));
    expect(await asB(() => data.lists.get(list.id))).toBeNull();
    expect(await asB(() => data.lists.getShared(token))).toBeNull();
    await expect(asB(() => data.lists.addItem(list.id, { sku: "ISO-1" }))).rejects.toBeInstanceOf(NotFoundError);
    expect(await asB(() => data.lists.delete(list.id))).toBe(false);
    expect((await asA(() => data.lists.getShared(token)))?.list.id).toBe(list.id);
  });

  it("pricing, workers, translators and UOM", async () => {
    const priceList = await asA(() => data.pricing.upsertPriceList({ name: "A", currency: "USD", prices: [{ sku: "ISO-1", unitAmountMinor: 100 }] }));
    expect(await asB(() => data.pricing.getPriceList(priceList.id))).toBeNull();
    await expect(asB(() => data.pricing.price({ sku: "ISO-1", quantity: 1 }))).rejects.toMatchObject({ code: "NO_PRICE" });
    expect(await asB(() => data.pricing.deletePriceList(priceList.id))).toBe(false);

    const worker = await asA(() => data.workers.register({ workerType: "sync", communityId: "eu", hostname: "h", pid: 1, tasks: [] }));
    expect(await asB(() => data.workers.get(worker.id))).toBeNull();
    await expect(asB(() => data.workers.heartbeat(worker.id, { rssBytes: 1, heapUsedBytes: 1, inFlight: 0, processed: 0, failed: 0 }))).rejects.toBeInstanceOf(
      NotFoundError,
    );

    await asA(() => data.translators.save({ name: "tr", mappings: [{ from: "a", to: "b" }] }));
    expect(await asB(() => data.translators.get("tr"))).toBeNull();

    await asA(() => data.uom.saveConfiguration({ name: "std", units: [{ code: "EA", name: "Each", dimension: "count" }], conversions: [] }));
    expect(await asB(() => data.uom.getConfiguration("std"))).toBeNull();
  });
});
