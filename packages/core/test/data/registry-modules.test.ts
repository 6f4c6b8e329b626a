import { beforeEach, describe, expect, it } from "vitest";
import { TranslatorRegistry } from "../../src/data/translator-runtime.js";
import { createMemoryData } from "../../src/embedded/data/index.js";
import { InvalidTransitionError, NotFoundError, ValidationError } from "../../src/errors.js";
import type { DataRole } from "../../src/roles/data/index.js";
import { runWithTenant } from "../../src/tenant.js";

let clock: Date;
let data: DataRole;

beforeEach(() => {
  clock = new Date("2025-06-01T12:00:00.000Z");
  data = createMemoryData({ now: () => clock });
});

function advance(ms: number): void {
  clock = new Date(clock.getTime() + ms);
}

const vitals = { rssBytes: 100, heapUsedBytes: 50, inFlight: 1, processed: 10, failed: 0 };
const registration = { workerType: "catalog-sync", communityId: "eu", hostname: "host-1", pid: 42, tasks: ["catalog.sync"] };

describe("worker registry", () => {
  it("marks workers stale by lastCallHome", async () => {
    const quiet = await data.workers.register({ ...registration, id: "w-quiet" });
    const busy = await data.workers.register({ ...registration, id: "w-busy" });
    advance(20_000);
    await data.workers.heartbeat(busy.id, vitals);
    advance(15_000);

    const stale = await data.workers.markStale(30_000);
    expect(stale.map((worker) => worker.id)).toEqual([quiet.id]);
    expect((await data.workers.get(quiet.id))?.status).toBe("stale");
    expect((await data.workers.get(busy.id))?.status).toBe("running");
    expect(await data.workers.markStale(30_000)).toEqual([]);

    await data.workers.heartbeat(quiet.id, vitals);
    expect((await data.workers.get(quiet.id))?.status).toBe("running");
  });

  it("does not mark stopped workers stale", async () => {
    const worker = await data.workers.register(registration);
    await data.workers.setStatus(worker.id, "stopped");
    advance(3_600_000);
    expect(await data.workers.markStale(1000)).toEqual([]);
    await expect(data.workers.heartbeat(worker.id, vitals)).rejects.toBeInstanceOf(InvalidTransitionError);
  });

  it("discovers by type, community and status", async () => {
    await data.workers.register({ ...registration, id: "a" });
    await data.workers.register({ ...registration, id: "b", communityId: "us" });
    await data.workers.register({ ...registration, id: "c", workerType: "mailer" });
    await data.workers.heartbeat("a", vitals);
    const ids = async (query: Parameters<DataRole["workers"]["discover"]>[0]) => (await data.workers.discover(query)).items.map((worker) => worker.id);
    expect(await ids({ workerType: "catalog-sync" })).toEqual(["a", "b"]);
    expect(await ids({ communityId: "eu" })).toEqual(["a", "c"]);
    expect(await ids({ status: "running" })).toEqual(["a"]);
    await expect(data.workers.discover({ status: "sleeping" as never })).rejects.toBeInstanceOf(ValidationError);
  });

  it("keeps vitals newest first", async () => {
    const worker = await data.workers.register(registration);
    for (let processed = 1; processed <= 3; processed++) {
      advance(1000);
      await data.workers.heartbeat(worker.id, { ...vitals, processed });
    }
    const history = await data.workers.vitals(worker.id, { limit: 2 });
    expect(history.map((entry) => entry.processed)).toEqual([3, 2]);
    expect(history[0]?.tenantId).toBe("default");
  });

  it("rejects bad input", async () => {
    await expect(data.workers.register({ ...registration, pid: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(data.workers.heartbeat("missing", vitals)).rejects.toBeInstanceOf(NotFoundError);
    const worker = await data.workers.register(registration);
    await expect(data.workers.heartbeat(worker.id, { ...vitals, inFlight: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(data.workers.markStale(0)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("customer lists", () => {
  it("adds items and raises quantities", async () => {
    const list = await data.lists.create({ customerId: "c1", kind: "saved_cart", name: "Later" });
    await data.lists.addItem(list.id, { sku: "TV-65" });
    const item = await data.lists.addItem(list.id, { sku: "TV-65", quantity: 2, note: "gift" });
    expect(item.quantity).toBe(3);
    expect(item.note).toBe("gift");
    await data.lists.addItem(list.id, { sku: "CABLE" });
    expect((await data.lists.items(list.id)).map((entry) => entry.sku)).toEqual(["TV-65", "CABLE"]);
    expect(await data.lists.removeItem(list.id, "CABLE")).toBe(true);
    expect(await data.lists.removeItem(list.id, "CABLE")).toBe(false);
    await expect(data.lists.addItem(list.id, { sku: "TV-65", quantity: 0 })).rejects.toBeInstanceOf(ValidationError);
  });

  it("shares with random tokens and revokes", async () => {
    const first = await data.lists.create({ customerId: "c1", kind: "wishlist", name: "One" });
    const second = await data.lists.create({ customerId: "c1", kind: "wishlist", name: "Two" });
    await data.lists.addItem(first.id, { sku: "TV-65" });

    const token = await data.lists.share(first.id);
    const otherToken = await data.lists.share(second.id);
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(otherToken).not.toBe(token);
    expect(await data.lists.share(first.id)).toBe(token);

    const shared = await data.lists.getShared(token);
    expect(shared?.list.id).toBe(first.id);
    expect(shared?.items.map((item) => item.sku)).toEqual(["TV-65"]);

    await data.lists.unshare(first.id);
    expect(await data.lists.getShared(token)).toBeNull();
    expect(await data.lists.getShared("A".repeat(32))).toBeNull();
    await expect(data.lists.getShared({ $ne: null } as never)).rejects.toBeInstanceOf(ValidationError);
    const newToken = await data.lists.share(first.id);
    expect(newToken).not.toBe(token);
  });

  it("deletes a list with its items", async () => {
    const list = await data.lists.create({ customerId: "c1", kind: "favourites", name: "Favs" });
    await data.lists.addItem(list.id, { sku: "TV-65" });
    const token = await data.lists.share(list.id);
    expect(await data.lists.delete(list.id)).toBe(true);
    expect(await data.lists.getShared(token)).toBeNull();
    await expect(data.lists.items(list.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await data.lists.listForCustomer("c1")).items).toEqual([]);
  });
});

describe("management", () => {
  it("ignores the tenant context", async () => {
    await runWithTenant("tenant-a", () => data.management.upsertTenant({ id: "acme", name: "Acme" }));
    expect((await runWithTenant("tenant-b", () => data.management.getTenant("acme")))?.name).toBe("Acme");
    expect((await data.management.listTenants()).items.map((tenant) => tenant.id)).toEqual(["acme"]);
  });

  it("stores per-tenant configuration", async () => {
    await data.management.upsertTenant({ id: "acme", name: "Acme" });
    await data.management.upsertTenant({ id: "globex", name: "Globex" });
    const entry = await data.management.setConfig("acme", "checkout.currency", { default: "USD" });
    expect(entry.version).toBe(1);
    expect((await data.management.setConfig("acme", "checkout.currency", { default: "CAD" })).version).toBe(2);
    expect(await data.management.getConfig("acme", "checkout.currency")).toEqual({ default: "CAD" });
    expect(await data.management.getConfig("globex", "checkout.currency")).toBeUndefined();
    await expect(data.management.setConfig("nobody", "a", 1)).rejects.toBeInstanceOf(NotFoundError);
    await expect(data.management.setConfig("acme", "a", () => 1)).rejects.toBeInstanceOf(ValidationError);
    await expect(data.management.setConfig("acme", "$where", 1)).rejects.toBeInstanceOf(ValidationError);
  });

  it("resolves feature flags with overrides", async () => {
    await data.management.upsertTenant({ id: "acme", name: "Acme" });
    await data.management.upsertTenant({ id: "globex", name: "Globex" });
    await data.management.defineFlag({ key: "checkout.new-flow", defaultEnabled: false });
    await data.management.setFlagOverride("checkout.new-flow", "acme", true);

    expect(await data.management.isEnabled("checkout.new-flow", "acme")).toBe(true);
    expect(await data.management.isEnabled("checkout.new-flow", "globex")).toBe(false);

    await data.management.defineFlag({ key: "checkout.new-flow", defaultEnabled: true, description: "New checkout" });
    expect(await data.management.isEnabled("checkout.new-flow", "globex")).toBe(true);
    await data.management.setFlagOverride("checkout.new-flow", "globex", false);
    expect(await data.management.isEnabled("checkout.new-flow", "globex")).toBe(false);
    await data.management.setFlagOverride("checkout.new-flow", "globex", null);
    expect(await data.management.isEnabled("checkout.new-flow", "globex")).toBe(true);

    expect((await data.management.listFlags())[0]?.overrides).toEqual({ acme: true });
    await expect(data.management.isEnabled("checkout.typo", "acme")).rejects.toBeInstanceOf(NotFoundError);
    await expect(data.management.setFlagOverride("checkout.new-flow", "nobody", true)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("repository", () => {
  it("versions documents and keeps history", async () => {
    const first = await data.repository.put("carts", "cart-1", { items: 1 });
    expect(first.id).toBe("cart-1");
    expect(first.version).toBe(1);
    await data.repository.put("carts", "cart-1", { items: 2 }, { expectedVersion: 1 });
    await expect(data.repository.put("carts", "cart-1", { items: 3 }, { expectedVersion: 1 })).rejects.toMatchObject({ code: "VERSION_CONFLICT" });
    await expect(data.repository.put("carts", "cart-1", { items: 3 }, { expectedVersion: 0 })).rejects.toMatchObject({ code: "VERSION_CONFLICT" });
    expect((await data.repository.put("carts", "cart-2", { items: 0 }, { expectedVersion: 0 })).version).toBe(1);

    const history = await data.repository.history("carts", "cart-1");
    expect(history.map((document) => [document.version, document.data.items])).toEqual([[1, 1]]);
    expect((await data.repository.get("carts", "cart-1"))?.data).toEqual({ items: 2 });
  });

  it("finds by equality and rejects operators", async () => {
    await data.repository.bulkPut("carts", [
      { id: "a", data: { status: "open", total: 5 } },
      { id: "b", data: { status: "closed", total: 5 } },
      { id: "c", data: { status: "open", total: 9 } },
    ]);
    expect((await data.repository.find("carts", { status: "open" })).items.map((document) => document.id)).toEqual(["a", "c"]);
    expect((await data.repository.find("carts", { status: ["open", "closed"], total: 5 })).items.map((document) => document.id)).toEqual(["a", "b"]);
    expect((await data.repository.find("other", {})).items).toEqual([]);
    await expect(data.repository.find("carts", { status: { $ne: "closed" } } as never)).rejects.toMatchObject({ code: "INVALID_FILTER" });
    await expect(data.repository.find("carts", { $where: "1" } as never)).rejects.toMatchObject({ code: "INVALID_FILTER" });
  });

  it("reports bad bulk rows and names", async () => {
    const result = await data.repository.bulkPut("carts", [
      { id: "ok", data: { a: 1 } },
      { id: "bad id", data: {} },
      { id: "date", data: { at: new Date() } },
    ]);
    expect(result.inserted).toBe(1);
    expect(result.failed.map((row) => row.index)).toEqual([1, 2]);
    await expect(data.repository.put("system.users", "x", {})).rejects.toBeInstanceOf(ValidationError);
    await expect(data.repository.put("$cmd", "x", {})).rejects.toBeInstanceOf(ValidationError);
    await expect(data.repository.put("carts", "x", { $set: 1 })).rejects.toThrow(/keys may not start with "\$"/);
    await expect(data.repository.put("carts", "x", [] as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it("deletes with an expected version", async () => {
    await data.repository.put("carts", "d", { a: 1 });
    await expect(data.repository.delete("carts", "d", { expectedVersion: 2 })).rejects.toMatchObject({ code: "VERSION_CONFLICT" });
    expect(await data.repository.delete("carts", "d", { expectedVersion: 1 })).toBe(true);
    expect(await data.repository.get("carts", "d")).toBeNull();
    expect(await data.repository.history("carts", "d")).toEqual([]);
  });
});

describe("translator configs", () => {
  it("versions configs by name", async () => {
    await data.translators.save({ name: "bestbuy", mappings: [{ from: "name", to: "title" }] });
    const second = await data.translators.save({ name: "bestbuy", mappings: [{ from: "name", to: "title", transform: "trim" }] });
    expect(second.configVersion).toBe(2);
    expect(await data.translators.versions("bestbuy")).toEqual([1, 2]);
    expect((await data.translators.get("bestbuy"))?.configVersion).toBe(2);
    expect((await data.translators.get("bestbuy", { configVersion: 1 }))?.mappings[0]?.transform).toBeUndefined();
    expect((await data.translators.list()).items.map((config) => [config.name, config.configVersion])).toEqual([["bestbuy", 2]]);
  });

  it("runs stored configs through the registry", async () => {
    await data.translators.save({ name: "bestbuy", mappings: [{ from: "name", to: "title", transform: "trim", required: true }] });
    const registry = new TranslatorRegistry({ load: (name) => data.translators.get(name) });
    expect(await registry.translate("bestbuy", { name: "  TV " })).toEqual({ title: "TV" });
  });

  it("rejects unsafe mapping paths", async () => {
    await expect(data.translators.save({ name: "x", mappings: [{ from: "a", to: "__proto__.polluted" }] })).rejects.toBeInstanceOf(ValidationError);
    await expect(data.translators.save({ name: "x", mappings: [] })).rejects.toThrow(/at least one mapping/);
  });
});
