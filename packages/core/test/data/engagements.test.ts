import { beforeEach, describe, expect, it } from "vitest";
import { createMemoryData } from "../../src/embedded/data/index.js";
import { InvalidTransitionError, NotFoundError, ValidationError, VersionConflictError } from "../../src/errors.js";
import type { DataRole } from "../../src/roles/data/index.js";
import { runWithTenant } from "../../src/tenant.js";

let clock: Date;
let data: DataRole;

beforeEach(() => {
  clock = new Date("2025-06-01T12:00:00.000Z");
  data = createMemoryData({ now: () => clock });
});

function tick(): void {
  clock = new Date(clock.getTime() + 1000);
}

const line = { id: "l1", sku: "TV-65", quantity: 1 };

describe("engagements", () => {
  it("creates a draft with defaults and a created event", async () => {
    const engagement = await data.engagements.create({ customerId: "c1", type: "order", lineItems: [line] }, { actor: "alice" });
    expect(engagement.status).toBe("draft");
    expect(engagement.version).toBe(1);
    expect(engagement.lineItems[0]?.uom).toBe("EA");
    expect(engagement.pricing).toBeNull();

    const [event] = await data.engagements.history(engagement.id);
    expect(event?.type).toBe("created");
    expect(event?.actor).toBe("alice");
    expect(event?.version).toBe(1);
    expect(event?.changes.map((change) => change.field)).toContain("status");
  });

  it("takes the actor from the tenant context", async () => {
    const engagement = await runWithTenant({ tenantId: "t1", actor: "bob" }, () => data.engagements.create({ customerId: "c1", type: "cart" }));
    const history = await runWithTenant("t1", () => data.engagements.history(engagement.id));
    expect(history[0]?.actor).toBe("bob");
  });

  it("rejects a stale expected version", async () => {
    const engagement = await data.engagements.create({ customerId: "c1", type: "order" });
    await data.engagements.update(engagement.id, { attributes: { note: "first" } }, { expectedVersion: 1 });

    const stale = data.engagements.update(engagement.id, { attributes: { note: "second" } }, { expectedVersion: 1 });
    await expect(stale).rejects.toBeInstanceOf(VersionConflictError);
    await expect(stale).rejects.toThrow("expected version 1, stored version 2");
    expect((await data.engagements.get(engagement.id))?.attributes).toEqual({ note: "first" });
    await expect(data.engagements.transition(engagement.id, "active", { expectedVersion: 1 })).rejects.toMatchObject({ code: "VERSION_CONFLICT", retryable: true });
  });

  it("records field-level changes and snapshots", async () => {
    const engagement = await data.engagements.create({ customerId: "c1", type: "order", attributes: { orderNumber: "A-1", channel: "web" } });
    tick();
    const updated = await data.engagements.update(
      engagement.id,
      { attributes: { orderNumber: "A-1", channel: "store" }, fulfillment: { method: "pickup" } },
      { actor: "clerk" },
    );
    expect(updated.version).toBe(2);
    expect(updated.updatedAt).toBe(clock.toISOString());

    const history = await data.engagements.history(engagement.id);
    expect(history).toHaveLength(2);
    expect(history[1]?.changes).toEqual([
      { field: "attributes.channel", from: "web", to: "store" },
      { field: "fulfillment", from: null, to: { method: "pickup" } },
    ]);
    expect(history[1]?.actor).toBe("clerk");

    const atOne = await data.engagements.snapshotAt(engagement.id, 1);
    expect(atOne?.attributes.channel).toBe("web");
    expect(atOne?.version).toBe(1);
    expect((await data.engagements.snapshotAt(engagement.id, 2))?.attributes.channel).toBe("store");
    expect(await data.engagements.snapshotAt(engagement.id, 3)).toBeNull();
    await expect(data.engagements.snapshotAt(engagement.id, 0)).rejects.toBeInstanceOf(ValidationError);
  });

  it("keeps the version on a no-op update", async () => {
    const engagement = await data.engagements.create({ customerId: "c1", type: "order", attributes: { a: 1 } });
    const same = await data.engagements.update(engagement.id, { attributes: { a: 1 } });
    expect(same.version).toBe(1);
    expect(await data.engagements.history(engagement.id)).toHaveLength(1);
  });

  it("follows the lifecycle and records the reason", async () => {
    const engagement = await data.engagements.create({ customerId: "c1", type: "order" });
    await data.engagements.transition(engagement.id, "active");
    const cancelled = await data.engagements.transition(engagement.id, "cancelled", { reason: "customer request", actor: "support" });
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.version).toBe(3);

    const last = (await data.engagements.history(engagement.id)).at(-1);
    expect(last?.type).toBe("status_changed");
    expect(last?.reason).toBe("customer request");
    expect(last?.changes).toEqual([{ field: "status", from: "active", to: "cancelled" }]);
  });

  it("rejects an invalid transition", async () => {
    const engagement = await data.engagements.create({ customerId: "c1", type: "order", status: "active" });
    const attempt = data.engagements.transition(engagement.id, "fulfilled");
    await expect(attempt).rejects.toBeInstanceOf(InvalidTransitionError);
    await expect(attempt).rejects.toThrow("allowed from active: processing, cancelled");
    expect((await data.engagements.get(engagement.id))?.status).toBe("active");
    expect(await data.engagements.history(engagement.id)).toHaveLength(1);
    await expect(data.engagements.transition(engagement.id, "shipped" as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it("returns copies the caller cannot change", async () => {
    const engagement = await data.engagements.create({ customerId: "c1", type: "order", lineItems: [line] });
    engagement.lineItems[0]!.quantity = 99;
    engagement.status = "complete";
    const stored = await data.engagements.get(engagement.id);
    expect(stored?.lineItems[0]?.quantity).toBe(1);
    expect(stored?.status).toBe("draft");

    const history = await data.engagements.history(engagement.id);
    history[0]!.snapshot.customerId = "mallory";
    expect((await data.engagements.snapshotAt(engagement.id, 1))?.customerId).toBe("c1");
  });

  it("rejects bad input with the field", async () => {
    await expect(data.engagements.create({ customerId: "c1", type: "invoice" as never })).rejects.toThrow(/type/);
    await expect(data.engagements.create({ customerId: "c1", type: "order", lineItems: [{ ...line, quantity: -2 }] })).rejects.toThrow(
      /lineItems\[0\]\.quantity/,
    );
    await expect(
      data.engagements.create({ customerId: "c1", type: "order", lineItems: [line, { ...line }] }),
    ).rejects.toThrow(/duplicates line item id "l1"/);
    await expect(data.engagements.create({ customerId: "c1", type: "order", status: "complete" as never })).rejects.toBeInstanceOf(ValidationError);
    await expect(data.engagements.update("missing", {})).rejects.toBeInstanceOf(NotFoundError);
    await expect(data.engagements.get({ $ne: null } as never)).rejects.toBeInstanceOf(ValidationError);
    const engagement = await data.engagements.create({ customerId: "c1", type: "order" });
    await expect(data.engagements.update(engagement.id, { status: "complete" } as never)).rejects.toThrow(/Unrecognized key/);
  });

  it("rejects a duplicate id", async () => {
    await data.engagements.create({ id: "order-1", customerId: "c1", type: "order" });
    await expect(data.engagements.create({ id: "order-1", customerId: "c2", type: "order" })).rejects.toMatchObject({ code: "DUPLICATE_KEY" });
  });
});

describe("engagement query", () => {
  it("pages newest first without duplicates", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      // Three engagements share each timestamp, so the id tie-breaker matters.
      if (i % 3 === 0) tick();
      ids.push((await data.engagements.create({ id: `e${String(i).padStart(2, "0")}`, customerId: i % 2 ? "odd" : "even", type: "order" })).id);
    }

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<DataRole["engagements"]["query"]>> = await data.engagements.query({ limit: 4, cursor });
      seen.push(...page.items.map((engagement) => engagement.id));
      cursor = page.nextCursor;
    } while (cursor);

    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    const expected = [...ids].sort((a, b) => {
      const order = Math.floor(Number(b.slice(1)) / 3) - Math.floor(Number(a.slice(1)) / 3);
      return order !== 0 ? order : b.localeCompare(a);
    });
    expect(seen).toEqual(expected);
  });

  it("filters by customer, status, type, dates and order number", async () => {
    const start = clock.toISOString();
    await data.engagements.create({ id: "a", customerId: "c1", type: "order", status: "active", attributes: { orderNumber: "N-1" } });
    tick();
    await data.engagements.create({ id: "b", customerId: "c1", type: "quote" });
    tick();
    await data.engagements.create({ id: "c", customerId: "c2", type: "order" });

    const ids = async (query: Parameters<DataRole["engagements"]["query"]>[0]) => (await data.engagements.query(query)).items.map((item) => item.id);
    expect(await ids({ customerId: "c1" })).toEqual(["b", "a"]);
    expect(await ids({ status: "active" })).toEqual(["a"]);
    expect(await ids({ status: ["draft", "active"], type: "order" })).toEqual(["c", "a"]);
    expect(await ids({ createdFrom: start, createdTo: new Date(Date.parse(start) + 1000) })).toEqual(["a"]);
    expect(await ids({ orderNumber: "N-1" })).toEqual(["a"]);
    await expect(data.engagements.query({ status: "lost" as never })).rejects.toBeInstanceOf(ValidationError);
    await expect(data.engagements.query({ cursor: "garbage" })).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
  });
});
