import { beforeEach, describe, expect, it } from "vitest";
import { createMemoryData } from "../../src/embedded/data/index.js";
import { BridgeError, InsufficientStockError, NotFoundError, ValidationError } from "../../src/errors.js";
import type { DataRole } from "../../src/roles/data/index.js";
import { DEFAULT_RESERVATION_TTL_MS } from "../../src/roles/data/inventory.js";

let clock = new Date("2025-06-01T12:00:00.000Z");
let data: DataRole;

beforeEach(async () => {
  clock = new Date("2025-06-01T12:00:00.000Z");
  data = createMemoryData({ now: () => clock });
  await data.inventory.upsertWarehouse({ id: "wh-a", name: "Warehouse A" });
  await data.inventory.upsertWarehouse({ id: "wh-b", name: "Warehouse B" });
});

function advance(ms: number): void {
  clock = new Date(clock.getTime() + ms);
}

describe("inventory reservations", () => {
  it("200 concurrent reservations never oversell 10 units", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 10);

    const results = await Promise.allSettled(
      Array.from({ length: 200 }, () => data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 1, warehouseId: "wh-a" }] })),
    );

    const fulfilled = results.filter((result) => result.status === "fulfilled");
    const rejected = results.filter((result): result is PromiseRejectedResult => result.status === "rejected");
    expect(fulfilled).toHaveLength(10);
    expect(rejected).toHaveLength(190);
    expect(rejected.every((result) => result.reason instanceof InsufficientStockError)).toBe(true);

    const stock = await data.inventory.getStock("TV-65", "wh-a");
    expect(stock?.reserved).toBe(10);
    expect(stock?.onHand).toBe(10);
    expect(stock?.available).toBe(0);
    const reservedMovements = await data.inventory.movements("TV-65", { limit: 1000 });
    expect(reservedMovements.filter((movement) => movement.kind === "reserve")).toHaveLength(10);
  });

  it("concurrent two-line reservations keep reserved equal to successes", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 50);
    await data.inventory.setStock("CABLE", "wh-a", 30);

    const results = await Promise.allSettled(
      Array.from({ length: 100 }, () =>
        data.inventory.reserve({
          lines: [
            { sku: "TV-65", quantity: 1, warehouseId: "wh-a" },
            { sku: "CABLE", quantity: 1, warehouseId: "wh-a" },
          ],
        }),
      ),
    );

    const successes = results.filter((result) => result.status === "fulfilled").length;
    const tv = await data.inventory.getStock("TV-65", "wh-a");
    const cable = await data.inventory.getStock("CABLE", "wh-a");
    expect(successes).toBeGreaterThan(0);
    expect(successes).toBeLessThanOrEqual(30);
    expect(tv?.reserved).toBe(successes);
    expect(cable?.reserved).toBe(successes);
    expect(cable?.reserved).toBeLessThanOrEqual(cable?.onHand ?? 0);
  });

  it("reserves nothing when the second line is short", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 5);
    await data.inventory.setStock("CABLE", "wh-a", 1);

    const attempt = data.inventory.reserve({
      lines: [
        { sku: "TV-65", quantity: 2, warehouseId: "wh-a" },
        { sku: "CABLE", quantity: 3, warehouseId: "wh-a" },
      ],
    });
    await expect(attempt).rejects.toBeInstanceOf(InsufficientStockError);
    await expect(attempt).rejects.toThrow('SKU "CABLE" needs 3 but 1 is available in warehouse "wh-a"');
    await expect(attempt).rejects.toThrow(/nothing was reserved/);

    expect((await data.inventory.getStock("TV-65", "wh-a"))?.reserved).toBe(0);
    expect((await data.inventory.getStock("CABLE", "wh-a"))?.reserved).toBe(0);
    expect((await data.inventory.movements("TV-65")).filter((movement) => movement.kind === "reserve")).toHaveLength(0);
  });

  it("names every short line in the error", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 1);
    try {
      await data.inventory.reserve({
        lines: [
          { sku: "TV-65", quantity: 2, warehouseId: "wh-a" },
          { sku: "RADIO", quantity: 1, warehouseId: "wh-a" },
        ],
      });
      expect.fail("no error");
    } catch (error) {
      expect(error).toBeInstanceOf(InsufficientStockError);
      const shortLines = (error as InsufficientStockError).details.shortLines as Array<{ sku: string }>;
      expect(shortLines.map((line) => line.sku)).toEqual(["TV-65", "RADIO"]);
    }
  });

  it("picks the first warehouse by id with enough stock", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 1);
    await data.inventory.setStock("TV-65", "wh-b", 5);
    const reservation = await data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 3 }] });
    expect(reservation.lines).toEqual([{ sku: "TV-65", warehouseId: "wh-b", quantity: 3 }]);

    const small = await data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 1 }] });
    expect(small.lines[0]?.warehouseId).toBe("wh-a");
    await expect(data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 3 }] })).rejects.toThrow(/any single warehouse/);
  });

  it("expiry releases stock", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 4);
    const reservation = await data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 3, warehouseId: "wh-a" }] });
    expect(reservation.expiresAt).toBe(new Date(clock.getTime() + DEFAULT_RESERVATION_TTL_MS).toISOString());

    advance(DEFAULT_RESERVATION_TTL_MS - 1);
    expect(await data.inventory.expireReservations()).toBe(0);
    expect((await data.inventory.getStock("TV-65", "wh-a"))?.reserved).toBe(3);

    advance(1);
    expect(await data.inventory.expireReservations()).toBe(1);
    expect((await data.inventory.getReservation(reservation.id))?.status).toBe("expired");
    const stock = await data.inventory.getStock("TV-65", "wh-a");
    expect(stock?.reserved).toBe(0);
    expect(stock?.available).toBe(4);
    expect(await data.inventory.expireReservations()).toBe(0);
    expect((await data.inventory.movements("TV-65"))[0]?.kind).toBe("expire");
  });

  it("expireReservations takes an explicit time", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 4);
    await data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 1, warehouseId: "wh-a" }], ttlMs: 1000 });
    expect(await data.inventory.expireReservations(new Date(clock.getTime() + 999))).toBe(0);
    expect(await data.inventory.expireReservations(new Date(clock.getTime() + 1000))).toBe(1);
    await expect(data.inventory.expireReservations(new Date("nope"))).rejects.toBeInstanceOf(ValidationError);
  });

  it("commit lowers on-hand and reserved", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 10);
    const reservation = await data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 4, warehouseId: "wh-a" }], engagementId: "order-1" });
    const committed = await data.inventory.commit(reservation.id);
    expect(committed.status).toBe("committed");
    expect(committed.engagementId).toBe("order-1");

    const stock = await data.inventory.getStock("TV-65", "wh-a");
    expect(stock?.onHand).toBe(6);
    expect(stock?.reserved).toBe(0);
    expect(stock?.available).toBe(6);

    expect((await data.inventory.commit(reservation.id)).status).toBe("committed");
    expect((await data.inventory.getStock("TV-65", "wh-a"))?.onHand).toBe(6);
    await expect(data.inventory.release(reservation.id)).rejects.toMatchObject({ code: "RESERVATION_NOT_ACTIVE" });
  });

  it("commit after expiry is rejected and releases stock", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 10);
    const reservation = await data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 4, warehouseId: "wh-a" }], ttlMs: 60_000 });
    advance(60_000);
    await expect(data.inventory.commit(reservation.id)).rejects.toMatchObject({ code: "RESERVATION_NOT_ACTIVE" });
    expect((await data.inventory.getReservation(reservation.id))?.status).toBe("expired");
    expect((await data.inventory.getStock("TV-65", "wh-a"))?.reserved).toBe(0);
    expect((await data.inventory.getStock("TV-65", "wh-a"))?.onHand).toBe(10);
  });

  it("release returns stock once", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 10);
    const reservation = await data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 4, warehouseId: "wh-a" }] });
    const [first, second] = await Promise.all([data.inventory.release(reservation.id), data.inventory.release(reservation.id)]);
    expect(first.status).toBe("released");
    expect(second.status).toBe("released");
    expect((await data.inventory.getStock("TV-65", "wh-a"))?.reserved).toBe(0);
    expect((await data.inventory.movements("TV-65")).filter((movement) => movement.kind === "release")).toHaveLength(1);
    await expect(data.inventory.commit(reservation.id)).rejects.toMatchObject({ code: "RESERVATION_NOT_ACTIVE" });
  });

  it("same idempotency key returns the first reservation", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 10);
    const request = { lines: [{ sku: "TV-65", quantity: 2, warehouseId: "wh-a" }], idempotencyKey: "checkout-42" };
    const [first, second] = await Promise.all([data.inventory.reserve(request), data.inventory.reserve(request)]);
    expect(second.id).toBe(first.id);
    const third = await data.inventory.reserve(request);
    expect(third.id).toBe(first.id);
    expect((await data.inventory.getStock("TV-65", "wh-a"))?.reserved).toBe(2);

    await expect(data.inventory.reserve({ ...request, lines: [{ sku: "TV-65", quantity: 3, warehouseId: "wh-a" }] })).rejects.toMatchObject({
      code: "CONFLICT",
    });
  });

  it("failed idempotent attempt frees the key", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 1);
    const request = { lines: [{ sku: "TV-65", quantity: 2, warehouseId: "wh-a" }], idempotencyKey: "retry-me" };
    await expect(data.inventory.reserve(request)).rejects.toBeInstanceOf(InsufficientStockError);
    await data.inventory.adjustStock("TV-65", "wh-a", 1);
    expect((await data.inventory.reserve(request)).status).toBe("active");
  });
});

describe("inventory stock", () => {
  it("setStock cannot go below reserved", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 5);
    await data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 3, warehouseId: "wh-a" }] });
    await expect(data.inventory.setStock("TV-65", "wh-a", 2)).rejects.toThrow(/3 is reserved/);
    expect((await data.inventory.setStock("TV-65", "wh-a", 3)).available).toBe(0);
  });

  it("adjustStock cannot go below reserved or zero", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 5);
    await data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 2, warehouseId: "wh-a" }] });
    await expect(data.inventory.adjustStock("TV-65", "wh-a", -4)).rejects.toBeInstanceOf(ValidationError);
    expect((await data.inventory.adjustStock("TV-65", "wh-a", -3, { reason: "damaged" })).onHand).toBe(2);
    await expect(data.inventory.adjustStock("RADIO", "wh-a", -1)).rejects.toBeInstanceOf(ValidationError);
    await expect(data.inventory.adjustStock("TV-65", "wh-a", 0)).rejects.toThrow(/must not be zero/);
  });

  it("records a movement ledger newest first", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 5, { reason: "count" });
    await data.inventory.adjustStock("TV-65", "wh-a", 2);
    await data.inventory.setStock("TV-65", "wh-b", 1);
    const all = await data.inventory.movements("TV-65");
    expect(all.map((movement) => [movement.kind, movement.warehouseId, movement.onHandDelta])).toEqual([
      ["set", "wh-b", 1],
      ["adjust", "wh-a", 2],
      ["set", "wh-a", 5],
    ]);
    expect(all[2]?.reason).toBe("count");
    expect(await data.inventory.movements("TV-65", { warehouseId: "wh-a", limit: 1 })).toHaveLength(1);
  });

  it("availability sums warehouses", async () => {
    await data.inventory.setStock("TV-65", "wh-a", 5);
    await data.inventory.setStock("TV-65", "wh-b", 7);
    await data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 2, warehouseId: "wh-b" }] });
    const availability = await data.inventory.availability("TV-65");
    expect(availability.onHand).toBe(12);
    expect(availability.reserved).toBe(2);
    expect(availability.available).toBe(10);
    expect(availability.byWarehouse.map((row) => row.warehouseId)).toEqual(["wh-a", "wh-b"]);
  });

  it("rejects unknown warehouses and bad input", async () => {
    await expect(data.inventory.setStock("TV-65", "wh-zz", 5)).rejects.toBeInstanceOf(NotFoundError);
    await expect(data.inventory.setStock("TV 65", "wh-a", 5)).rejects.toBeInstanceOf(ValidationError);
    await expect(data.inventory.setStock("TV-65", "wh-a", -1)).rejects.toBeInstanceOf(ValidationError);
    await expect(data.inventory.setStock("TV-65", "wh-a", 1.5)).rejects.toBeInstanceOf(ValidationError);
    await expect(data.inventory.reserve({ lines: [] })).rejects.toThrow(/at least one line/);
    await expect(data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 0 }] })).rejects.toBeInstanceOf(ValidationError);
    await expect(data.inventory.reserve({ lines: [{ sku: "TV-65", quantity: 1 }], ttlMs: -5 })).rejects.toBeInstanceOf(ValidationError);
    await expect(data.inventory.getReservation({ $ne: null } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(data.inventory.commit("missing")).rejects.toBeInstanceOf(NotFoundError);
    await expect(data.inventory.movements("TV-65", { limit: 0 })).rejects.toBeInstanceOf(BridgeError);
  });

  it("returns copies of stored warehouses", async () => {
    const warehouse = await data.inventory.upsertWarehouse({ id: "wh-c", name: "C", location: { lat: 45.5, lon: -73.6 } });
    (warehouse.location as { lat: number }).lat = 0;
    expect((await data.inventory.getWarehouse("wh-c"))?.location?.lat).toBe(45.5);
    expect((await data.inventory.upsertWarehouse({ id: "wh-c", name: "C", location: { lat: 45.5, lon: -73.6 } })).version).toBe(1);
    expect((await data.inventory.upsertWarehouse({ id: "wh-c", name: "C2" })).version).toBe(2);
    await expect(data.inventory.upsertWarehouse({ id: "wh-d", name: "D", location: { lat: 91, lon: 0 } })).rejects.toBeInstanceOf(ValidationError);
  });
});
