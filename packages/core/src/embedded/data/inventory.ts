// Stock per SKU and warehouse, reservations and a movement ledger. Every stock
// change is one conditional update on one row, the in-memory form of MongoDB's
// findOneAndUpdate({ tenantId, sku, warehouseId, <condition> }, { $inc }), and
// reservations apply them line by line, undoing earlier lines on failure.
import { randomUUID } from "node:crypto";
import { paginate } from "../../data/cursor.js";
import { ConflictError, ReservationNotActiveError } from "../../data/errors.js";
import { deepEqual, previewValue } from "../../data/json.js";
import {
  SKU_PATTERN,
  newWarehouseSchema,
  parseInput,
  reserveRequestSchema,
  stockDeltaSchema,
  stockQuantitySchema,
} from "../../data/validation.js";
import { BridgeError, InsufficientStockError, NotFoundError, ValidationError } from "../../errors.js";
import type { PageRequest } from "../../roles/data/common.js";
import {
  DEFAULT_RESERVATION_TTL_MS,
  type InventoryModule,
  type Reservation,
  type ReservationLine,
  type ReserveRequest,
  type StockLevel,
  type StockMovement,
  type StockMovementKind,
  type Warehouse,
} from "../../roles/data/inventory.js";
import { currentTenantId } from "../../tenant.js";
import { type Clock, TenantCollection, assertId, errorContext, newStoredFields, notFound } from "./store.js";

export const DEFAULT_MOVEMENT_LIMIT = 100;
export const MAX_MOVEMENT_LIMIT = 1000;

type StockDelta = { onHand: number; reserved: number };

function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/**
 * Stock rows keyed by tenant, SKU and warehouse. Each method checks its
 * condition and applies the change in one synchronous step, so no other call
 * can run between the check and the write. The methods are async so that
 * callers await between rows as they would with a database, and correctness
 * rests on the per-row condition, never on the order of calls.
 */
class StockTable {
  readonly #rows = new Map<string, Map<string, StockLevel>>();

  static key(sku: string, warehouseId: string): string {
    return JSON.stringify([sku, warehouseId]);
  }

  get(tenantId: string, sku: string, warehouseId: string): StockLevel | undefined {
    const row = this.#rows.get(tenantId)?.get(StockTable.key(sku, warehouseId));
    return row === undefined ? undefined : { ...row };
  }

  /** Rows of one SKU ordered by warehouse id. */
  bySku(tenantId: string, sku: string): StockLevel[] {
    const rows = [...(this.#rows.get(tenantId)?.values() ?? [])].filter((row) => row.sku === sku);
    return rows.map((row) => ({ ...row })).sort((a, b) => compareText(a.warehouseId, b.warehouseId));
  }

  /**
   * Applies the delta that `change` returns for the current row (a missing row
   * counts as zero stock) and returns the row after it, or null when `change`
   * returns null because the row fails its condition.
   */
  async update(
    tenantId: string,
    sku: string,
    warehouseId: string,
    at: Date,
    change: (row: StockLevel) => StockDelta | null,
  ): Promise<StockLevel | null> {
    let partition = this.#rows.get(tenantId);
    if (!partition) {
      partition = new Map();
      this.#rows.set(tenantId, partition);
    }
    const key = StockTable.key(sku, warehouseId);
    const before = partition.get(key) ?? { tenantId, sku, warehouseId, onHand: 0, reserved: 0, available: 0, version: 0, updatedAt: at.toISOString() };
    const delta = change(before);
    if (delta === null) return null;

    const onHand = before.onHand + delta.onHand;
    const reserved = before.reserved + delta.reserved;
    const after: StockLevel = {
      ...before,
      onHand,
      reserved,
      available: Math.max(0, onHand - reserved),
      version: before.version + 1,
      updatedAt: at.toISOString(),
    };
    partition.set(key, after);
    return { ...after };
  }
}

interface IdempotencyEntry {
  fingerprint: unknown;
  reservation: Promise<Reservation>;
}

export function createMemoryInventory(clock: Clock): InventoryModule {
  const warehouses = new TenantCollection<Warehouse>("Warehouse");
  const reservations = new TenantCollection<Reservation>("Reservation");
  const stock = new StockTable();
  const movements = new Map<string, StockMovement[]>();
  const idempotency = new Map<string, Map<string, IdempotencyEntry>>();

  function recordMovement(
    tenantId: string,
    movement: Omit<StockMovement, "id" | "tenantId" | "at">,
    at: Date,
  ): void {
    // NOTE: the movement ledger and the idempotency keys grow without bound; this store is for tests and single-process demos.
    let ledger = movements.get(tenantId);
    if (!ledger) {
      ledger = [];
      movements.set(tenantId, ledger);
    }
    ledger.push({ id: randomUUID(), tenantId, at: at.toISOString(), ...movement });
  }

  function assertSku(sku: unknown): asserts sku is string {
    if (typeof sku !== "string" || !SKU_PATTERN.test(sku)) {
      throw new ValidationError(`Invalid SKU ${previewValue(sku)}: expected 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.`, {
        ...errorContext(),
        details: { sku: previewValue(sku) },
      });
    }
  }

  function assertReason(reason: unknown): asserts reason is string | undefined {
    if (reason !== undefined && (typeof reason !== "string" || reason.length > 500)) {
      throw new ValidationError(`Invalid stock movement reason ${previewValue(reason)}: expected a string of at most 500 characters.`, {
        ...errorContext(),
        details: { reason: previewValue(reason) },
      });
    }
  }

  function requireWarehouse(tenantId: string, warehouseId: string): void {
    if (!warehouses.has(tenantId, warehouseId)) {
      throw new NotFoundError(`Warehouse "${warehouseId}" not found in tenant "${tenantId}". Create it with upsertWarehouse before setting stock.`, {
        ...errorContext(),
        details: { warehouseId },
      });
    }
  }

  /** Moves reserved stock back to available (release or expiry) or out of stock (commit), line by line. */
  async function settleLines(reservation: Reservation, kind: Extract<StockMovementKind, "release" | "expire" | "commit">, at: Date): Promise<void> {
    for (const line of reservation.lines) {
      const delta = kind === "commit" ? { onHand: -line.quantity, reserved: -line.quantity } : { onHand: 0, reserved: -line.quantity };
      const result = await stock.update(reservation.tenantId, line.sku, line.warehouseId, at, (row) =>
        row.reserved >= line.quantity && row.onHand + delta.onHand >= 0 ? delta : null,
      );
      if (!result) {
        // setStock and adjustStock never let onHand drop below reserved, so this means the store is corrupt.
        throw new BridgeError(
          `Failed to ${kind} reservation "${reservation.id}": SKU "${line.sku}" in warehouse "${line.warehouseId}" has less reserved stock than the reservation contains. The stock row is inconsistent; check its movements.`,
          { ...errorContext(), code: "INTERNAL", details: { reservationId: reservation.id, line } },
        );
      }
      recordMovement(
        reservation.tenantId,
        { sku: line.sku, warehouseId: line.warehouseId, kind, onHandDelta: delta.onHand, reservedDelta: delta.reserved, reservationId: reservation.id },
        at,
      );
    }
  }

  /**
   * Flips an active reservation to `status` in one synchronous step, so two
   * concurrent calls cannot both settle it; returns null when it was not active.
   */
  function claim(tenantId: string, id: string, status: Reservation["status"], at: Date): Reservation | null {
    const current = reservations.get(tenantId, id);
    if (!current || current.status !== "active") return null;
    return reservations.replace(tenantId, { ...current, status, updatedAt: at.toISOString() });
  }

  function isPastExpiry(reservation: Reservation, at: Date): boolean {
    return Date.parse(reservation.expiresAt) <= at.getTime();
  }

  async function expireOne(tenantId: string, id: string, at: Date): Promise<boolean> {
    const claimed = claim(tenantId, id, "expired", at);
    if (!claimed) return false;
    await settleLines(claimed, "expire", at);
    return true;
  }

  /** Reserves one line: in its warehouse, or in the first warehouse by id with enough available stock. */
  async function reserveLine(tenantId: string, line: { sku: string; quantity: number; warehouseId?: string }, at: Date): Promise<ReservationLine | null> {
    const candidates = line.warehouseId !== undefined ? [line.warehouseId] : stock.bySku(tenantId, line.sku).map((row) => row.warehouseId);
    for (const warehouseId of candidates) {
      const result = await stock.update(tenantId, line.sku, warehouseId, at, (row) =>
        row.onHand - row.reserved >= line.quantity ? { onHand: 0, reserved: line.quantity } : null,
      );
      if (result) return { sku: line.sku, warehouseId, quantity: line.quantity };
    }
    return null;
  }

  function shortLineMessage(tenantId: string, line: { sku: string; quantity: number; warehouseId?: string }): string {
    const rows = line.warehouseId !== undefined ? [stock.get(tenantId, line.sku, line.warehouseId)] : stock.bySku(tenantId, line.sku);
    const best = Math.max(0, ...rows.map((row) => row?.available ?? 0));
    const where = line.warehouseId !== undefined ? `warehouse "${line.warehouseId}"` : "any single warehouse";
    return `SKU "${line.sku}" needs ${line.quantity} but ${best} is available in ${where}`;
  }

  /**
   * Reserves every line or none. Lines are applied one at a time with the
   * condition `available >= quantity`; when a line fails, the lines already
   * applied are undone. While that happens, a concurrent request can see the
   * briefly held stock and fail too, but stock is never oversold.
   */
  async function applyReservation(tenantId: string, request: ReturnType<typeof reserveRequestSchema.parse>): Promise<Reservation> {
    const at = clock.now();
    const applied: ReservationLine[] = [];
    let shortIndex = -1;

    for (const [index, line] of request.lines.entries()) {
      const reserved = await reserveLine(tenantId, line, at);
      if (!reserved) {
        shortIndex = index;
        break;
      }
      applied.push(reserved);
    }

    if (shortIndex >= 0) {
      for (const line of applied.reverse()) {
        await stock.update(tenantId, line.sku, line.warehouseId, at, (row) =>
          row.reserved >= line.quantity ? { onHand: 0, reserved: -line.quantity } : null,
        );
      }
      const shortLines = request.lines
        .map((line, index) => ({ line, index }))
        .filter(({ line, index }) => index === shortIndex || (index > shortIndex && !canReserveNow(tenantId, line)));
      const reasons = shortLines.map(({ line }) => shortLineMessage(tenantId, line));
      throw new InsufficientStockError(
        `Cannot reserve ${request.lines.length} line(s), nothing was reserved: ${reasons.join("; ")}. Lower the quantities, pick another warehouse, or add stock.`,
        { ...errorContext(), details: { shortLines: shortLines.map(({ line, index }) => ({ index, ...line })) } },
      );
    }

    const reservation: Reservation = {
      id: randomUUID(),
      tenantId,
      ...(request.engagementId === undefined ? {} : { engagementId: request.engagementId }),
      lines: applied,
      status: "active",
      expiresAt: new Date(at.getTime() + (request.ttlMs ?? DEFAULT_RESERVATION_TTL_MS)).toISOString(),
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
    };
    const stored = reservations.insert(tenantId, reservation);
    for (const line of applied) {
      recordMovement(
        tenantId,
        { sku: line.sku, warehouseId: line.warehouseId, kind: "reserve", onHandDelta: 0, reservedDelta: line.quantity, reservationId: stored.id },
        at,
      );
    }
    return stored;
  }

  /** Read-only check used to name every short line in the error, not to decide anything. */
  function canReserveNow(tenantId: string, line: { sku: string; quantity: number; warehouseId?: string }): boolean {
    const rows = line.warehouseId !== undefined ? [stock.get(tenantId, line.sku, line.warehouseId)] : stock.bySku(tenantId, line.sku);
    return rows.some((row) => row !== undefined && row.available >= line.quantity);
  }

  return {
    async upsertWarehouse(input) {
      const parsed = parseInput(newWarehouseSchema, input, "warehouse", errorContext());
      const tenantId = currentTenantId();
      const fields = {
        name: parsed.name,
        location: parsed.location ?? null,
        attributes: parsed.attributes ?? {},
        ...(parsed.address === undefined ? {} : { address: parsed.address }),
        ...(parsed.capacity === undefined ? {} : { capacity: parsed.capacity }),
      };
      const current = warehouses.get(tenantId, parsed.id);
      if (!current) return warehouses.insert(tenantId, { ...newStoredFields(parsed.id, tenantId, clock.now()), ...fields });

      const next: Warehouse = { id: current.id, tenantId, version: current.version, createdAt: current.createdAt, updatedAt: current.updatedAt, ...fields };
      if (deepEqual(current, next)) return current;
      return warehouses.replace(tenantId, { ...next, version: current.version + 1, updatedAt: clock.now().toISOString() });
    },

    async getWarehouse(id) {
      assertId(id, "warehouse id");
      return warehouses.get(currentTenantId(), id) ?? null;
    },

    async listWarehouses(page: PageRequest = {}) {
      return paginate(warehouses.all(currentTenantId()), { scope: "warehouses:id", key: () => [], direction: "asc" }, page, errorContext());
    },

    async setStock(sku, warehouseId, onHand, options = {}) {
      assertSku(sku);
      assertId(warehouseId, "warehouse id");
      const quantity = parseInput(stockQuantitySchema, onHand, "on-hand quantity", errorContext());
      assertReason(options.reason);
      const tenantId = currentTenantId();
      requireWarehouse(tenantId, warehouseId);

      const at = clock.now();
      let onHandDelta = 0;
      const result = await stock.update(tenantId, sku, warehouseId, at, (row) => {
        if (quantity < row.reserved) return null;
        onHandDelta = quantity - row.onHand;
        return { onHand: onHandDelta, reserved: 0 };
      });
      if (!result) {
        const reserved = stock.get(tenantId, sku, warehouseId)?.reserved ?? 0;
        throw new ValidationError(
          `Cannot set on-hand stock of SKU "${sku}" in warehouse "${warehouseId}" to ${quantity}: ${reserved} is reserved. Release or commit reservations first, or set at least ${reserved}.`,
          { ...errorContext(), details: { sku, warehouseId, onHand: quantity, reserved } },
        );
      }
      recordMovement(tenantId, { sku, warehouseId, kind: "set", onHandDelta, reservedDelta: 0, ...(options.reason ? { reason: options.reason } : {}) }, at);
      return result;
    },

    async adjustStock(sku, warehouseId, delta, options = {}) {
      assertSku(sku);
      assertId(warehouseId, "warehouse id");
      const change = parseInput(stockDeltaSchema.refine((value) => value !== 0, "must not be zero"), delta, "stock delta", errorContext());
      assertReason(options.reason);
      const tenantId = currentTenantId();
      requireWarehouse(tenantId, warehouseId);

      const at = clock.now();
      const result = await stock.update(tenantId, sku, warehouseId, at, (row) =>
        row.onHand + change >= row.reserved ? { onHand: change, reserved: 0 } : null,
      );
      if (!result) {
        const row = stock.get(tenantId, sku, warehouseId);
        throw new ValidationError(
          `Cannot adjust stock of SKU "${sku}" in warehouse "${warehouseId}" by ${change}: on hand is ${row?.onHand ?? 0} and ${row?.reserved ?? 0} is reserved, so stock would drop below what is reserved.`,
          { ...errorContext(), details: { sku, warehouseId, delta: change, onHand: row?.onHand ?? 0, reserved: row?.reserved ?? 0 } },
        );
      }
      recordMovement(tenantId, { sku, warehouseId, kind: "adjust", onHandDelta: change, reservedDelta: 0, ...(options.reason ? { reason: options.reason } : {}) }, at);
      return result;
    },

    async getStock(sku, warehouseId) {
      assertSku(sku);
      assertId(warehouseId, "warehouse id");
      return stock.get(currentTenantId(), sku, warehouseId) ?? null;
    },

    async availability(sku) {
      assertSku(sku);
      const rows = stock.bySku(currentTenantId(), sku);
      const onHand = rows.reduce((sum, row) => sum + row.onHand, 0);
      const reserved = rows.reduce((sum, row) => sum + row.reserved, 0);
      return { sku, onHand, reserved, available: Math.max(0, onHand - reserved), byWarehouse: rows };
    },

    /** A repeated idempotency key returns the first reservation as it is now; a different request under the same key is rejected. */
    async reserve(request: ReserveRequest) {
      const parsed = parseInput(reserveRequestSchema, request, "reservation request", errorContext());
      const tenantId = currentTenantId();
      if (parsed.idempotencyKey === undefined) return applyReservation(tenantId, parsed);

      // The key is claimed before the first await, so concurrent calls with one key share one reservation.
      let keys = idempotency.get(tenantId);
      if (!keys) {
        keys = new Map();
        idempotency.set(tenantId, keys);
      }
      const fingerprint = { lines: parsed.lines, engagementId: parsed.engagementId ?? null, ttlMs: parsed.ttlMs ?? null };
      const existing = keys.get(parsed.idempotencyKey);
      if (existing) {
        if (!deepEqual(existing.fingerprint, fingerprint)) {
          throw new ConflictError(
            `Idempotency key "${parsed.idempotencyKey}" was already used for a different reservation request. Use a new key for a new request.`,
            { ...errorContext(), details: { idempotencyKey: parsed.idempotencyKey } },
          );
        }
        const first = await existing.reservation;
        return reservations.get(tenantId, first.id) ?? first;
      }

      const key = parsed.idempotencyKey;
      const pending = applyReservation(tenantId, parsed);
      keys.set(key, { fingerprint, reservation: pending });
      try {
        return await pending;
      } catch (error) {
        // A failed attempt reserved nothing, so the key is freed for a retry.
        keys.delete(key);
        throw error;
      }
    },

    async getReservation(id) {
      assertId(id, "reservation id");
      return reservations.get(currentTenantId(), id) ?? null;
    },

    /** Releasing a released or expired reservation returns it unchanged; a committed one cannot be released. */
    async release(reservationId) {
      assertId(reservationId, "reservation id");
      const tenantId = currentTenantId();
      const at = clock.now();

      const claimed = claim(tenantId, reservationId, "released", at);
      if (claimed) {
        await settleLines(claimed, "release", at);
        return claimed;
      }
      const current = reservations.get(tenantId, reservationId);
      if (!current) throw notFound("Reservation", reservationId);
      if (current.status === "committed") {
        throw new ReservationNotActiveError(
          `Reservation "${reservationId}" is already committed, so its stock has left inventory. Use adjustStock to return goods.`,
          { ...errorContext(), details: { reservationId, status: current.status } },
        );
      }
      return current;
    },

    /** Committing twice returns the committed reservation; an expired, released, or past-expiry reservation cannot be committed. */
    async commit(reservationId) {
      assertId(reservationId, "reservation id");
      const tenantId = currentTenantId();
      const at = clock.now();

      const current = reservations.get(tenantId, reservationId);
      if (!current) throw notFound("Reservation", reservationId);
      if (current.status === "committed") return current;
      if (current.status === "active" && isPastExpiry(current, at)) await expireOne(tenantId, reservationId, at);

      const claimed = claim(tenantId, reservationId, "committed", at);
      if (!claimed) {
        const latest = reservations.get(tenantId, reservationId) ?? current;
        if (latest.status === "committed") return latest;
        throw new ReservationNotActiveError(
          `Cannot commit reservation "${reservationId}": it is ${latest.status} (expiry ${latest.expiresAt}). Reserve the stock again.`,
          { ...errorContext(), details: { reservationId, status: latest.status, expiresAt: latest.expiresAt } },
        );
      }
      await settleLines(claimed, "commit", at);
      return claimed;
    },

    /** Expires the current tenant's active reservations whose expiry is at or before `now`; a sweeper runs it per tenant. */
    async expireReservations(now?: Date) {
      if (now !== undefined && (!(now instanceof Date) || Number.isNaN(now.getTime()))) {
        throw new ValidationError(`Invalid expiry time ${previewValue(now)}: expected a valid Date.`, errorContext());
      }
      const at = now ?? clock.now();
      const tenantId = currentTenantId();
      const due = reservations.filter(tenantId, (reservation) => reservation.status === "active" && isPastExpiry(reservation, at));

      let expired = 0;
      for (const reservation of due) {
        if (await expireOne(tenantId, reservation.id, at)) expired += 1;
      }
      return expired;
    },

    /** Newest first. */
    async movements(sku, options = {}) {
      assertSku(sku);
      if (options.warehouseId !== undefined) assertId(options.warehouseId, "warehouse id");
      const limit = options.limit ?? DEFAULT_MOVEMENT_LIMIT;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_MOVEMENT_LIMIT) {
        throw new ValidationError(`Invalid movement limit ${previewValue(limit)}: expected an integer from 1 to ${MAX_MOVEMENT_LIMIT}.`, {
          ...errorContext(),
          details: { limit: previewValue(limit) },
        });
      }
      const ledger = movements.get(currentTenantId()) ?? [];
      const matches: StockMovement[] = [];
      for (let i = ledger.length - 1; i >= 0 && matches.length < limit; i--) {
        const movement = ledger[i] as StockMovement;
        if (movement.sku === sku && (options.warehouseId === undefined || movement.warehouseId === options.warehouseId)) matches.push({ ...movement });
      }
      return matches;
    },
  };
}
