import type { DataRole } from "@bridge/core";
import { expect, it } from "vitest";
import { expectBridgeError } from "../../harness.js";
import type { DataCaseContext } from "./context.js";

const PHONE = "4984700";
const CASE = "5577301";

async function stockUp(data: DataRole, levels: Array<[sku: string, warehouseId: string, onHand: number]>): Promise<void> {
  const warehouses = new Set(levels.map(([, warehouseId]) => warehouseId));
  for (const id of warehouses) {
    await data.inventory.upsertWarehouse({ id, name: `Warehouse ${id}`, location: { lat: 44.85466, lon: -93.24565 } });
  }
  for (const [sku, warehouseId, onHand] of levels) {
    await data.inventory.setStock(sku, warehouseId, onHand, { reason: "initial count" });
  }
}

export function registerInventoryCases({ start, inventoryConcurrency }: DataCaseContext): void {
  it("stock levels sum across warehouses", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await stockUp(data, [
        [PHONE, "wh-east", 7],
        [PHONE, "wh-west", 3],
      ]);
      const availability = await data.inventory.availability(PHONE);
      expect(availability).toMatchObject({ sku: PHONE, onHand: 10, reserved: 0, available: 10 });
      expect(availability.byWarehouse.map((level) => level.warehouseId).sort()).toEqual(["wh-east", "wh-west"]);

      const adjusted = await data.inventory.adjustStock(PHONE, "wh-east", -2, { reason: "damaged" });
      expect(adjusted.onHand).toBe(5);
      expect(adjusted.available).toBe(5);
      expect((await data.inventory.getStock(PHONE, "wh-east"))?.onHand).toBe(5);
      expect(await data.inventory.getStock("no-such-sku", "wh-east")).toBeNull();
      expect((await data.inventory.getWarehouse("wh-east"))?.name).toBe("Warehouse wh-east");
    });
  });

  it("reserve is all or nothing", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await stockUp(data, [
        [PHONE, "wh-east", 10],
        [CASE, "wh-east", 1],
      ]);
      await expectBridgeError(
        data.inventory.reserve({ lines: [{ sku: PHONE, quantity: 2 }, { sku: CASE, quantity: 5 }] }),
        "INSUFFICIENT_STOCK",
        [CASE],
      );
      expect((await data.inventory.availability(PHONE)).available, "the line with enough stock must not stay reserved").toBe(10);
      expect((await data.inventory.availability(CASE)).available).toBe(1);
    });
  });

  it("release and commit move stock", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await stockUp(data, [[PHONE, "wh-east", 10]]);

      const released = await data.inventory.reserve({ lines: [{ sku: PHONE, quantity: 3 }], engagementId: "eng-1" });
      expect(released.status).toBe("active");
      expect(released.lines).toEqual([{ sku: PHONE, warehouseId: "wh-east", quantity: 3 }]);
      expect(await data.inventory.availability(PHONE)).toMatchObject({ onHand: 10, reserved: 3, available: 7 });
      expect((await data.inventory.release(released.id)).status).toBe("released");
      expect(await data.inventory.availability(PHONE)).toMatchObject({ onHand: 10, reserved: 0, available: 10 });

      const committed = await data.inventory.reserve({ lines: [{ sku: PHONE, quantity: 4 }] });
      expect((await data.inventory.commit(committed.id)).status).toBe("committed");
      expect(await data.inventory.availability(PHONE)).toMatchObject({ onHand: 6, reserved: 0, available: 6 });

      // A retried commit or release returns the reservation again and must not move stock twice.
      expect((await data.inventory.commit(committed.id)).status).toBe("committed");
      expect((await data.inventory.release(released.id)).status).toBe("released");
      expect(await data.inventory.availability(PHONE)).toMatchObject({ onHand: 6, reserved: 0, available: 6 });

      await expectBridgeError(data.inventory.release(committed.id), "RESERVATION_NOT_ACTIVE", [committed.id]);
      await expectBridgeError(data.inventory.commit(released.id), "RESERVATION_NOT_ACTIVE", [released.id]);
      await expectBridgeError(data.inventory.release("no-such-reservation"), "NOT_FOUND");
      expect((await data.inventory.getReservation(committed.id))?.status).toBe("committed");
    });
  });

  it("concurrent reservations never oversell", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await stockUp(data, [[PHONE, "wh-east", 10]]);
      const results = await Promise.allSettled(
        Array.from({ length: inventoryConcurrency }, () => data.inventory.reserve({ lines: [{ sku: PHONE, quantity: 1 }] })),
      );

      const succeeded = results.filter((result) => result.status === "fulfilled");
      expect(succeeded, `successful reservations out of ${inventoryConcurrency}`).toHaveLength(Math.min(10, inventoryConcurrency));
      const unexpected = results.filter(
        (result) => result.status === "rejected" && (result.reason as { code?: string })?.code !== "INSUFFICIENT_STOCK",
      );
      expect(unexpected.map((result) => String((result as PromiseRejectedResult).reason)), "rejections other than INSUFFICIENT_STOCK").toEqual([]);

      const availability = await data.inventory.availability(PHONE);
      expect(availability).toMatchObject({ onHand: 10, reserved: Math.min(10, inventoryConcurrency), available: Math.max(0, 10 - inventoryConcurrency) });
    });
  });

  it("reservations expire", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await stockUp(data, [[PHONE, "wh-east", 5]]);
      const reservation = await data.inventory.reserve({ lines: [{ sku: PHONE, quantity: 2 }], ttlMs: 60_000 });
      const expiresAt = Date.parse(reservation.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(Date.parse(reservation.createdAt) + 60_000);

      expect(await data.inventory.expireReservations(new Date(expiresAt - 1_000)), "nothing expires before its time").toBe(0);
      expect(await data.inventory.expireReservations(new Date(expiresAt + 1_000))).toBe(1);
      expect((await data.inventory.getReservation(reservation.id))?.status).toBe("expired");
      expect((await data.inventory.availability(PHONE)).available).toBe(5);
      expect(await data.inventory.expireReservations(new Date(expiresAt + 2_000))).toBe(0);
      await expectBridgeError(data.inventory.commit(reservation.id), "RESERVATION_NOT_ACTIVE");
    });
  });

  it("default reservation lasts 15 minutes", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await stockUp(data, [[PHONE, "wh-east", 5]]);
      const reservation = await data.inventory.reserve({ lines: [{ sku: PHONE, quantity: 1 }] });
      const ttlMs = Date.parse(reservation.expiresAt) - Date.parse(reservation.createdAt);
      expect(Math.abs(ttlMs - 15 * 60_000), `reservation ttl was ${ttlMs} ms`).toBeLessThanOrEqual(1_000);
    });
  });

  it("idempotency key reserves once", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await stockUp(data, [[PHONE, "wh-east", 5]]);
      const request = { lines: [{ sku: PHONE, quantity: 2 }], idempotencyKey: "checkout-eng-1" };
      const first = await data.inventory.reserve(request);
      const second = await data.inventory.reserve(request);
      expect(second.id).toBe(first.id);
      expect((await data.inventory.availability(PHONE)).reserved).toBe(2);
    });
  });

  it("stock below reserved is rejected", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await stockUp(data, [[PHONE, "wh-east", 5]]);
      await data.inventory.reserve({ lines: [{ sku: PHONE, quantity: 4 }] });
      await expectBridgeError(data.inventory.setStock(PHONE, "wh-east", 3), "VALIDATION_FAILED", ["3"]);
      await expectBridgeError(data.inventory.adjustStock(PHONE, "wh-east", -2), "VALIDATION_FAILED");
      expect((await data.inventory.getStock(PHONE, "wh-east"))?.onHand).toBe(5);
    });
  });

  it("invalid quantities are rejected", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await stockUp(data, [[PHONE, "wh-east", 5]]);
      for (const quantity of [0, -1, 1.5]) {
        await expectBridgeError(data.inventory.reserve({ lines: [{ sku: PHONE, quantity }] }), "VALIDATION_FAILED", [String(quantity)]);
      }
      await expectBridgeError(data.inventory.reserve({ lines: [] }), "VALIDATION_FAILED");
      await expectBridgeError(data.inventory.setStock(PHONE, "wh-east", -1), "VALIDATION_FAILED", ["-1"]);
      await expectBridgeError(data.inventory.setStock(PHONE, "no-such-warehouse", 1), "NOT_FOUND", ["no-such-warehouse"]);
      expect((await data.inventory.availability(PHONE)).reserved).toBe(0);
    });
  });

  it("movements record each change", async () => {
    const { data, asA } = await start();
    await asA(async () => {
      await stockUp(data, [[PHONE, "wh-east", 5]]);
      const reservation = await data.inventory.reserve({ lines: [{ sku: PHONE, quantity: 2 }] });
      await data.inventory.commit(reservation.id);

      const movements = await data.inventory.movements(PHONE);
      expect(movements.map((movement) => movement.kind).sort()).toEqual(["commit", "reserve", "set"]);
      const commit = movements.find((movement) => movement.kind === "commit")!;
      expect(commit).toMatchObject({ onHandDelta: -2, reservedDelta: -2, reservationId: reservation.id, warehouseId: "wh-east" });
    });
  });

  it("tenants are isolated", async () => {
    const { data, asA, asB } = await start();
    const reservation = await asA(async () => {
      await stockUp(data, [[PHONE, "wh-east", 5]]);
      return data.inventory.reserve({ lines: [{ sku: PHONE, quantity: 1 }] });
    });
    await asB(async () => {
      expect(await data.inventory.getWarehouse("wh-east")).toBeNull();
      expect(await data.inventory.getStock(PHONE, "wh-east")).toBeNull();
      expect((await data.inventory.availability(PHONE)).available).toBe(0);
      expect(await data.inventory.getReservation(reservation.id)).toBeNull();
      await expectBridgeError(data.inventory.reserve({ lines: [{ sku: PHONE, quantity: 1 }] }), "INSUFFICIENT_STOCK");
      await expectBridgeError(data.inventory.release(reservation.id), "NOT_FOUND");
      expect(await data.inventory.expireReservations(new Date(Date.now() + 3_600_000))).toBe(0);
    });
    await asA(async () => {
      expect((await data.inventory.getReservation(reservation.id))?.status).toBe("active");
    });
  });
}
