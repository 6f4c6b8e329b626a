// Stock per SKU and warehouse in `inventory` (one document per pair, `_id`
// from tenant, SKU and warehouse), reservations in `reservations`, the ledger
// in `stock_movements` and warehouses in `warehouses`.
//
// FerretDB has no multi-document transactions, so every stock change is one
// conditional update on one document, such as
//   findOneAndUpdate({ _id, tenantId, available: { $gte: qty } }, { $inc: { reserved: qty, available: -qty } })
// and a reservation applies its lines one by one, undoing the earlier lines
// when a later one fails. `available` is stored next to onHand and reserved
// so that the condition needs no $expr, which FerretDB 1.x lacks.
import { createHash, randomUUID } from "node:crypto";
import {
  BridgeError,
  ConflictError,
  DEFAULT_RESERVATION_TTL_MS,
  InsufficientStockError,
  NotFoundError,
  ReservationNotActiveError,
  SKU_PATTERN,
  ValidationError,
  deepEqual,
  isBridgeError,
  newWarehouseSchema,
  parseInput,
  previewValue,
  reserveRequestSchema,
  stockDeltaSchema,
  stockQuantitySchema,
  type InventoryModule,
  type PageRequest,
  type Reservation,
  type ReservationLine,
  type ReserveRequest,
  type StockLevel,
  type StockMovement,
  type StockMovementKind,
  type Warehouse,
} from "@bridge/core";
import type { Document } from "mongodb";
import { TenantCollection } from "../collection.js";
import { sleep } from "../store.js";
import { assertId, assertOptionalDate, errorContext, notFound, resolveLimit, sequenceKey, type ModuleContext } from "./shared.js";
import { upsertRecord } from "./versioned.js";

export const DEFAULT_MOVEMENT_LIMIT = 100;
export const MAX_MOVEMENT_LIMIT = 1000;

/** How long a reservation may stay half-applied before expireReservations treats its creator as dead. */
const PENDING_GRACE_MS = 60_000;
/** Stock rows whose last seen availability is kept for the contention shortcut. */
const MAX_OBSERVED_ROWS = 10_000;
/** How long a call with a reused idempotency key waits for the first call to finish. */
const IDEMPOTENT_WAIT_MS = 5_000;

type ParsedRequest = ReturnType<typeof reserveRequestSchema.parse>;
/** Minimum values a stock row must have for a change to apply, such as { available: 2 }. */
type StockMinimums = Partial<Record<"onHand" | "reserved" | "available", number>>;
type LineRequest = ParsedRequest["lines"][number];

/** A reservation as stored: "pending" while its lines are being applied. */
interface StoredReservation extends Omit<Reservation, "status"> {
  status: Reservation["status"] | "pending";
  idempotencyKey?: string;
  fingerprint?: unknown;
  /** Until then a pending reservation belongs to the call creating it. */
  pendingUntil?: string;
}

interface StoredMovement extends StockMovement {
  /** Orders movements newest first; see sequenceKey. */
  seq: string;
}

function publicReservation(stored: StoredReservation): Reservation {
  const { idempotencyKey: _key, fingerprint: _fingerprint, pendingUntil: _pending, ...reservation } = stored;
  return reservation as Reservation;
}

export function createInventory(context: ModuleContext): InventoryModule {
  const { store, now } = context;
  const warehouses = new TenantCollection<Warehouse>(store, "warehouses", "Warehouse");
  const stock = new TenantCollection<StockLevel & { id: string }>(store, "inventory", "Stock level");
  const reservations = new TenantCollection<StoredReservation>(store, "reservations", "Reservation");
  const movements = new TenantCollection<StoredMovement>(store, "stock_movements", "Stock movement");

  const stockKey = (sku: string, warehouseId: string) => stock.key(sku, warehouseId);
  const stockLock = (sku: string, warehouseId: string) => `inventory/${stockKey(sku, warehouseId)}`;
  const reservationLock = (id: string) => `reservations/${reservations.key(id)}`;

  /** Last stock row seen per `_id` by this process, with the performance.now() time it was seen. */
  const observed = new Map<string, { available: number; at: number }>();
  function observe(key: string, row: StockLevel): void {
    if (observed.size >= MAX_OBSERVED_ROWS && !observed.has(key)) observed.clear();
    observed.set(key, { available: row.available, at: performance.now() });
  }

  function toLevel(row: StockLevel & { id?: string }): StockLevel {
    const { id: _id, ...level } = row;
    return level;
  }

  function assertSku(sku: unknown): asserts sku is string {
    if (typeof sku !== "string" || !SKU_PATTERN.test(sku)) {
      throw new ValidationError(`Invalid SKU ${previewValue(sku)}: expected 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.`, {
        ...errorContext(store),
        details: { sku: previewValue(sku) },
      });
    }
  }

  function assertReason(reason: unknown): asserts reason is string | undefined {
    if (reason !== undefined && (typeof reason !== "string" || reason.length > 500)) {
      throw new ValidationError(`Invalid stock movement reason ${previewValue(reason)}: expected a string of at most 500 characters.`, {
        ...errorContext(store),
        details: { reason: previewValue(reason) },
      });
    }
  }

  /** Warehouse `_id`s seen to exist. The module has no warehouse delete, so an entry never goes stale. */
  const knownWarehouses = new Set<string>();

  async function requireWarehouse(warehouseId: string): Promise<void> {
    const key = warehouses.key(warehouseId);
    if (knownWarehouses.has(key)) return;
    if (await warehouses.findById(warehouseId)) {
      if (knownWarehouses.size >= MAX_OBSERVED_ROWS) knownWarehouses.clear();
      knownWarehouses.add(key);
    } else {
      throw new NotFoundError(`Warehouse "${warehouseId}" not found in tenant "${warehouses.tenantId}". Create it with upsertWarehouse before setting stock.`, {
        ...errorContext(store),
        details: { warehouseId },
      });
    }
  }

  async function readRow(sku: string, warehouseId: string): Promise<StockLevel | null> {
    const row = await stock.findOne({ _id: stockKey(sku, warehouseId) });
    return row ? toLevel(row) : null;
  }

  /**
   * Creates the row of a SKU and warehouse with `onHand` in one insert and
   * returns it, or returns null when the row exists already. An insert is
   * atomic on every server, so a new row needs no lock.
   */
  async function createRow(sku: string, warehouseId: string, onHand: number, at: Date): Promise<StockLevel | null> {
    const row = { id: `${sku}@${warehouseId}`, tenantId: stock.tenantId, sku, warehouseId, onHand, reserved: 0, available: onHand, version: 1, updatedAt: at.toISOString() };
    try {
      return toLevel(await stock.insert(row, [sku, warehouseId]));
    } catch (error) {
      if (isBridgeError(error, "DUPLICATE_KEY")) return null;
      throw error;
    }
  }

  /**
   * Changes stock with a single conditional update of one row, the only way
   * stock changes. Returns the row after the change, or null when the row is
   * missing or fails `condition`. Under document locks (FerretDB) the update runs inside the
   * row's lock, because the server would otherwise read and write it in two steps.
   */
  async function changeStock(
    sku: string,
    warehouseId: string,
    minimums: StockMinimums,
    delta: { onHand: number; reserved: number },
    minimumAvailable?: number,
  ): Promise<StockLevel | null> {
    const fields = Object.entries(minimums) as Array<[keyof StockMinimums, number]>;
    const condition = Object.fromEntries(fields.map(([field, minimum]) => [field, { $gte: minimum }]));
    const update = async () => {
      const row = await stock.updateWhere(
        stockKey(sku, warehouseId),
        condition,
        (current) => fields.every(([field, minimum]) => current[field] >= minimum),
        {
          $inc: { onHand: delta.onHand, reserved: delta.reserved, available: delta.onHand - delta.reserved, version: 1 },
          $set: { updatedAt: now().toISOString() },
        },
      );
      return row ? toLevel(row) : null;
    };
    // Under contention most reservations meet stock that is already gone. The
    // shortcut fails them without the lease. It uses what a call ahead of them
    // in this process saw after they started, which is a valid moment to fail
    // at, or else one read.
    const startedAt = performance.now();
    const key = stockKey(sku, warehouseId);
    const shortcut =
      minimumAvailable === undefined
        ? undefined
        : async () => {
            const seen = observed.get(key);
            if (seen !== undefined && seen.at >= startedAt) return seen.available < minimumAvailable ? null : undefined;
            const row = await readRow(sku, warehouseId);
            if (row) observe(key, row);
            return row === null || row.available < minimumAvailable ? null : undefined;
          };
    const row = await store.exclusive(stockLock(sku, warehouseId), update, shortcut);
    if (row) observe(key, row);
    return row;
  }

  async function recordMovements(entries: Array<Omit<StockMovement, "id" | "tenantId" | "at">>, at: Date): Promise<void> {
    if (entries.length === 0) return;
    const tenantId = movements.tenantId;
    const documents = entries.map((entry) => {
      const movement: StoredMovement = compactMovement({ id: randomUUID(), tenantId, at: at.toISOString(), seq: sequenceKey(at), ...entry });
      return { insertOne: { document: movements.stamp(movement) } };
    });
    const { writeErrors } = await movements.bulkWrite(documents);
    if (writeErrors.length > 0) {
      // The stock change already happened; a lost ledger line must not fail the caller's operation.
      store.logger.error("failed to record stock movements", { tenantId, failed: writeErrors.length, first: writeErrors[0]?.message });
    }
  }

  /** Moves reserved stock back to available (release or expiry) or out of stock (commit), line by line. */
  async function settleLines(reservation: StoredReservation, kind: Extract<StockMovementKind, "release" | "expire" | "commit">, at: Date): Promise<void> {
    const ledger: Array<Omit<StockMovement, "id" | "tenantId" | "at">> = [];
    for (const line of reservation.lines) {
      const delta = kind === "commit" ? { onHand: -line.quantity, reserved: -line.quantity } : { onHand: 0, reserved: -line.quantity };
      const minimums = kind === "commit" ? { reserved: line.quantity, onHand: line.quantity } : { reserved: line.quantity };
      const result = await changeStock(line.sku, line.warehouseId, minimums, delta);
      if (!result) {
        // setStock and adjustStock never let onHand drop below reserved, so this means the data was changed outside Bridge.
        throw new BridgeError(
          `Stock of SKU "${line.sku}" in warehouse "${line.warehouseId}" has less reserved stock than reservation "${reservation.id}" needs to ${kind}; check for writes to the inventory collection outside Bridge.`,
          { ...errorContext(store), code: "INTERNAL", details: { reservationId: reservation.id, line } },
        );
      }
      ledger.push({ sku: line.sku, warehouseId: line.warehouseId, kind, onHandDelta: delta.onHand, reservedDelta: delta.reserved, reservationId: reservation.id });
    }
    await recordMovements(ledger, at);
  }

  /**
   * Moves a reservation from one of the statuses in `from` to `status` in one
   * conditional update, so two concurrent calls cannot both settle it. Returns
   * the reservation as it was before, or null when its status was not in `from`.
   */
  async function claim(id: string, from: StoredReservation["status"][], status: Reservation["status"], at: Date): Promise<StoredReservation | null> {
    return store.exclusive(reservationLock(id), async () => {
      const before = await reservations.findOne({ _id: reservations.key(id), status: { $in: from } });
      if (!before) return null;
      const claimed = await reservations.updateWhere(
        reservations.key(id),
        { status: before.status },
        (current) => current.status === before.status,
        { $set: { status, updatedAt: at.toISOString() } },
      );
      return claimed ? { ...before, status, updatedAt: at.toISOString() } : null;
    });
  }

  /** Runs a write on a pending reservation under its lock, so expireReservations cannot take it over in between. */
  function whilePending<R>(id: string, write: (key: string, isPending: (reservation: StoredReservation) => boolean) => Promise<R>): Promise<R> {
    return store.exclusive(reservationLock(id), () => write(reservations.key(id), (reservation) => reservation.status === "pending"));
  }

  function isPastExpiry(reservation: StoredReservation, at: Date): boolean {
    return Date.parse(reservation.expiresAt) <= at.getTime();
  }

  async function expireOne(id: string, at: Date, from: StoredReservation["status"][] = ["active"]): Promise<boolean> {
    const claimed = await claim(id, from, "expired", at);
    if (!claimed) return false;
    await settleLines(claimed, "expire", at);
    return true;
  }

  /** Reserves one line: in its warehouse, or in the first warehouse by id with enough available stock. */
  async function reserveLine(line: LineRequest): Promise<ReservationLine | null> {
    const candidates =
      line.warehouseId !== undefined
        ? [line.warehouseId]
        : (await stock.find({ sku: line.sku, available: { $gte: line.quantity } }, { sort: { warehouseId: 1 }, projection: { warehouseId: 1, id: 1 } })).map(
            (row) => row.warehouseId,
          );
    for (const warehouseId of candidates) {
      const result = await changeStock(line.sku, warehouseId, { available: line.quantity }, { onHand: 0, reserved: line.quantity }, line.quantity);
      if (result) return { sku: line.sku, warehouseId, quantity: line.quantity };
    }
    return null;
  }

  async function releaseLine(line: ReservationLine): Promise<void> {
    const result = await changeStock(line.sku, line.warehouseId, { reserved: line.quantity }, { onHand: 0, reserved: -line.quantity });
    if (!result) {
      store.logger.error("could not undo a reserved line; reserved stock is too low", { tenantId: stock.tenantId, line });
    }
  }

  async function availableFor(line: LineRequest): Promise<number> {
    const rows = line.warehouseId !== undefined ? [await readRow(line.sku, line.warehouseId)] : await stock.find({ sku: line.sku });
    return Math.max(0, ...rows.map((row) => row?.available ?? 0));
  }

  async function insufficientStock(request: ParsedRequest, shortIndex: number): Promise<InsufficientStockError> {
    const short: Array<{ index: number; line: LineRequest; available: number }> = [];
    for (const [index, line] of request.lines.entries()) {
      if (index < shortIndex) continue;
      const available = await availableFor(line);
      // Read-only check used to name every short line in the error, not to decide anything.
      if (index === shortIndex || available < line.quantity) short.push({ index, line, available });
    }
    const reasons = short.map(({ line, available }) => {
      const where = line.warehouseId !== undefined ? `warehouse "${line.warehouseId}"` : "any single warehouse";
      return `SKU "${line.sku}" needs ${line.quantity} but ${available} is available in ${where}`;
    });
    return new InsufficientStockError(
      `Cannot reserve ${request.lines.length} line(s), nothing was reserved: ${reasons.join("; ")}. Lower the quantities, pick another warehouse, or add stock.`,
      { ...errorContext(store), details: { shortLines: short.map(({ index, line }) => ({ index, ...line })) } },
    );
  }

  /**
   * Reserves every line or none. Each line is applied with the condition
   * `available >= quantity`. The reservation is written right after its first
   * line succeeds: "active" at once when it has one line, else "pending" with
   * the lines applied so far, so that expireReservations can release them if
   * this process dies. When a line fails, the applied lines are undone and
   * the pending reservation deleted; a request whose first line is short
   * writes nothing at all.
   * NOTE: a process that dies between a line's stock update and its record
   * on the reservation leaves that line reserved with nothing to release it.
   * The window is one round trip per line.
   */
  async function applyReservation(request: ParsedRequest, id: string, fingerprint: unknown): Promise<Reservation> {
    const at = now();
    const ttlMs = request.ttlMs ?? DEFAULT_RESERVATION_TTL_MS;
    const single = request.lines.length === 1;
    const base: StoredReservation = {
      id,
      tenantId: reservations.tenantId,
      ...(request.engagementId === undefined ? {} : { engagementId: request.engagementId }),
      lines: [],
      status: single ? "active" : "pending",
      expiresAt: new Date(at.getTime() + ttlMs).toISOString(),
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
      ...(single ? {} : { pendingUntil: new Date(at.getTime() + Math.max(ttlMs, PENDING_GRACE_MS)).toISOString() }),
      ...(request.idempotencyKey === undefined ? {} : { idempotencyKey: request.idempotencyKey, fingerprint }),
    };

    const applied: ReservationLine[] = [];
    for (const [index, line] of request.lines.entries()) {
      const reserved = await reserveLine(line);
      if (!reserved) {
        for (const done of [...applied].reverse()) await releaseLine(done);
        if (index > 0) await whilePending(id, (key, isPending) => reservations.deleteWhere(key, { status: "pending" }, isPending));
        throw await insufficientStock(request, index);
      }
      applied.push(reserved);

      if (index === 0) {
        try {
          await reservations.insert({ ...base, lines: [reserved] });
        } catch (error) {
          // A duplicate id means another call with the same idempotency key got here first; the caller returns its reservation.
          await releaseLine(reserved);
          throw error;
        }
      } else if (index < request.lines.length - 1) {
        await whilePending(id, (key, isPending) => reservations.updateWhere(key, { status: "pending" }, isPending, { $push: { lines: reserved } }));
      }
    }

    if (!single) {
      const activated = await whilePending(id, (key, isPending) =>
        reservations.updateWhere(key, { status: "pending" }, isPending, {
          $set: { status: "active", lines: applied, updatedAt: at.toISOString() },
          $unset: { pendingUntil: "" },
        }),
      );
      if (!activated) {
        // expireReservations took the reservation over after PENDING_GRACE_MS and released the recorded lines.
        const last = applied[applied.length - 1];
        if (last) await releaseLine(last);
        throw new BridgeError(
          `Reservation "${id}" took longer than ${PENDING_GRACE_MS} ms to apply and was expired meanwhile; nothing stays reserved. Retry the reservation.`,
          { ...errorContext(store), code: "TIMEOUT", retryable: true, details: { reservationId: id } },
        );
      }
    }

    await recordMovements(
      applied.map((line) => ({ sku: line.sku, warehouseId: line.warehouseId, kind: "reserve", onHandDelta: 0, reservedDelta: line.quantity, reservationId: id })),
      at,
    );
    const { pendingUntil: _pending, ...active } = base;
    return publicReservation({ ...active, status: "active", lines: applied });
  }

  /** Returns the settled reservation stored under an idempotency key, waiting while its first call is still applying it. */
  async function awaitIdempotent(id: string, key: string, fingerprint: unknown): Promise<Reservation | null> {
    const deadline = Date.now() + IDEMPOTENT_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      const existing = await reservations.findById(id);
      if (!existing) return null;
      if (!deepEqual(existing.fingerprint, fingerprint)) {
        throw new ConflictError(`Idempotency key "${key}" was already used for a different reservation request. Use a new key for a new request.`, {
          ...errorContext(store),
          details: { idempotencyKey: key },
        });
      }
      if (existing.status !== "pending") return publicReservation(existing);
      if (Date.now() > deadline) {
        throw new ConflictError(
          `Reservation for idempotency key "${key}" is still being applied by another call after ${IDEMPOTENT_WAIT_MS} ms. Retry shortly to get its result.`,
          { ...errorContext(store), retryable: true, details: { idempotencyKey: key, reservationId: id } },
        );
      }
      await sleep(Math.min(10 * 2 ** attempt, 200));
    }
  }

  return {
    async upsertWarehouse(input) {
      const parsed = parseInput(newWarehouseSchema, input, "warehouse", errorContext(store));
      return upsertRecord(context, warehouses, parsed.id, {
        name: parsed.name,
        location: parsed.location ?? null,
        attributes: parsed.attributes ?? {},
        ...(parsed.address === undefined ? {} : { address: parsed.address }),
        ...(parsed.capacity === undefined ? {} : { capacity: parsed.capacity }),
      });
    },

    async getWarehouse(id) {
      assertId(store, id, "warehouse id");
      return warehouses.findById(id);
    },

    async listWarehouses(page: PageRequest = {}) {
      return warehouses.page({}, { scope: "warehouses:id", fields: [], direction: "asc" }, page);
    },

    async setStock(sku, warehouseId, onHand, options = {}) {
      assertSku(sku);
      assertId(store, warehouseId, "warehouse id");
      const quantity = parseInput(stockQuantitySchema, onHand, "on-hand quantity", errorContext(store));
      assertReason(options.reason);
      await requireWarehouse(warehouseId);
      const at = now();
      const reason = options.reason ? { reason: options.reason } : {};

      // Insert first: it fails fast on an existing row, while a lookup of a missing row scans the whole collection on FerretDB 1.24.
      const created = await createRow(sku, warehouseId, quantity, at);
      if (created) {
        await recordMovements([{ sku, warehouseId, kind: "set", onHandDelta: quantity, reservedDelta: 0, ...reason }], at);
        return created;
      }

      // An existing row needs its current reserved quantity, so setStock reads it and writes it back on { _id, version }.
      const { level, onHandDelta } = await store.exclusive(stockLock(sku, warehouseId), async () => {
        for (;;) {
          const row = await readRow(sku, warehouseId);
          if (!row) throw notFound(store, "Stock level", `${sku}@${warehouseId}`);
          if (quantity < row.reserved) {
            throw new ValidationError(
              `Cannot set on-hand stock of SKU "${sku}" in warehouse "${warehouseId}" to ${quantity}: ${row.reserved} is reserved. Release or commit reservations first, or set at least ${row.reserved}.`,
              { ...errorContext(store), details: { sku, warehouseId, onHand: quantity, reserved: row.reserved } },
            );
          }
          const updated = await stock.updateWhere(
            stockKey(sku, warehouseId),
            { version: row.version },
            (current) => current.version === row.version,
            { $set: { onHand: quantity, available: quantity - row.reserved, updatedAt: at.toISOString() }, $inc: { version: 1 } },
          );
          if (updated) return { level: toLevel(updated), onHandDelta: quantity - row.onHand };
        }
      });

      await recordMovements([{ sku, warehouseId, kind: "set", onHandDelta, reservedDelta: 0, ...reason }], at);
      return level;
    },

    async adjustStock(sku, warehouseId, delta, options = {}) {
      assertSku(sku);
      assertId(store, warehouseId, "warehouse id");
      const change = parseInput(stockDeltaSchema.refine((value) => value !== 0, "must not be zero"), delta, "stock delta", errorContext(store));
      assertReason(options.reason);
      await requireWarehouse(warehouseId);
      const at = now();

      const created = change > 0 ? await createRow(sku, warehouseId, change, at) : null;
      // onHand + change >= reserved is the same as available >= -change.
      const result = created ?? (await changeStock(sku, warehouseId, change < 0 ? { available: -change } : {}, { onHand: change, reserved: 0 }));
      if (!result) {
        const row = await readRow(sku, warehouseId);
        throw new ValidationError(
          `Cannot adjust stock of SKU "${sku}" in warehouse "${warehouseId}" by ${change}: on hand is ${row?.onHand ?? 0} and ${row?.reserved ?? 0} is reserved, so stock would drop below what is reserved.`,
          { ...errorContext(store), details: { sku, warehouseId, delta: change, onHand: row?.onHand ?? 0, reserved: row?.reserved ?? 0 } },
        );
      }
      await recordMovements([{ sku, warehouseId, kind: "adjust", onHandDelta: change, reservedDelta: 0, ...(options.reason ? { reason: options.reason } : {}) }], at);
      return result;
    },

    async getStock(sku, warehouseId) {
      assertSku(sku);
      assertId(store, warehouseId, "warehouse id");
      return readRow(sku, warehouseId);
    },

    async availability(sku) {
      assertSku(sku);
      const rows = (await stock.find({ sku }, { sort: { warehouseId: 1 } })).map(toLevel);
      const onHand = rows.reduce((sum, row) => sum + row.onHand, 0);
      const reserved = rows.reduce((sum, row) => sum + row.reserved, 0);
      return { sku, onHand, reserved, available: Math.max(0, onHand - reserved), byWarehouse: rows };
    },

    /** A repeated idempotency key returns the first reservation as it is now; a different request under the same key is rejected. */
    async reserve(request: ReserveRequest) {
      const parsed = parseInput(reserveRequestSchema, request, "reservation request", errorContext(store));
      if (parsed.idempotencyKey === undefined) return applyReservation(parsed, randomUUID(), undefined);

      // The reservation id derives from the key, so the first insert claims the key for every concurrent caller.
      const key = parsed.idempotencyKey;
      const id = `rsv-${createHash("sha256").update(key).digest("hex").slice(0, 40)}`;
      const fingerprint = { lines: parsed.lines, engagementId: parsed.engagementId ?? null, ttlMs: parsed.ttlMs ?? null };
      for (let attempt = 0; attempt < 3; attempt++) {
        const existing = await awaitIdempotent(id, key, fingerprint);
        if (existing) return existing;
        try {
          return await applyReservation(parsed, id, fingerprint);
        } catch (error) {
          if (!isBridgeError(error, "DUPLICATE_KEY")) throw error;
        }
      }
      const settled = await awaitIdempotent(id, key, fingerprint);
      if (settled) return settled;
      throw new ConflictError(`Reservation for idempotency key "${key}" kept changing while it was read. Retry the call.`, {
        ...errorContext(store),
        retryable: true,
        details: { idempotencyKey: key },
      });
    },

    async getReservation(id) {
      assertId(store, id, "reservation id");
      const stored = await reservations.findById(id);
      return stored && stored.status !== "pending" ? publicReservation(stored) : null;
    },

    /** Releasing a released or expired reservation returns it unchanged; a committed one cannot be released. */
    async release(reservationId) {
      assertId(store, reservationId, "reservation id");
      const at = now();

      const claimed = await claim(reservationId, ["active"], "released", at);
      if (claimed) {
        await settleLines(claimed, "release", at);
        return publicReservation(claimed);
      }
      const current = await reservations.findById(reservationId);
      if (!current || current.status === "pending") throw notFound(store, "Reservation", reservationId);
      if (current.status === "committed") {
        throw new ReservationNotActiveError(
          `Reservation "${reservationId}" is already committed, so its stock has left inventory. Use adjustStock to return goods.`,
          { ...errorContext(store), details: { reservationId, status: current.status } },
        );
      }
      return publicReservation(current);
    },

    /** Committing twice returns the committed reservation; an expired, released, or past-expiry reservation cannot be committed. */
    async commit(reservationId) {
      assertId(store, reservationId, "reservation id");
      const at = now();

      const current = await reservations.findById(reservationId);
      if (!current || current.status === "pending") throw notFound(store, "Reservation", reservationId);
      if (current.status === "committed") return publicReservation(current);
      if (current.status === "active" && isPastExpiry(current, at)) await expireOne(reservationId, at);

      const claimed = await claim(reservationId, ["active"], "committed", at);
      if (!claimed) {
        const latest = (await reservations.findById(reservationId)) ?? current;
        if (latest.status === "committed") return publicReservation(latest);
        throw new ReservationNotActiveError(
          `Cannot commit reservation "${reservationId}": it is ${latest.status} (expiry ${latest.expiresAt}). Reserve the stock again.`,
          { ...errorContext(store), details: { reservationId, status: latest.status, expiresAt: latest.expiresAt } },
        );
      }
      await settleLines(claimed, "commit", at);
      return publicReservation(claimed);
    },

    /**
     * Expires the current tenant's active reservations whose expiry is at or
     * before `now`. Pending ones count too once their grace period is over,
     * because their caller died. A sweeper runs it per tenant.
     */
    async expireReservations(when?: Date) {
      assertOptionalDate(store, when, "expiry time");
      const at = when ?? now();
      const iso = at.toISOString();
      const due = await reservations.find(
        { $or: [{ status: "active", expiresAt: { $lte: iso } }, { status: "pending", expiresAt: { $lte: iso }, pendingUntil: { $lte: iso } }] },
        { projection: { id: 1, status: 1 } },
      );

      let expired = 0;
      for (const reservation of due) {
        if (await expireOne(reservation.id, at, [reservation.status])) expired += 1;
      }
      return expired;
    },

    /** Newest first. */
    async movements(sku, options = {}) {
      assertSku(sku);
      if (options.warehouseId !== undefined) assertId(store, options.warehouseId, "warehouse id");
      const limit = resolveLimit(store, options.limit, DEFAULT_MOVEMENT_LIMIT, MAX_MOVEMENT_LIMIT, "movement");
      const filter: Document = { sku, ...(options.warehouseId === undefined ? {} : { warehouseId: options.warehouseId }) };
      const rows = await movements.find(filter, { sort: { seq: -1 }, limit });
      return rows.map(({ seq: _seq, ...movement }) => movement);
    },
  };
}

function compactMovement(movement: StoredMovement): StoredMovement {
  return Object.fromEntries(Object.entries(movement).filter(([, value]) => value !== undefined)) as unknown as StoredMovement;
}
