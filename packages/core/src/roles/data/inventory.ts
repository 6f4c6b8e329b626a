import type { Page, PageRequest, Stored } from "./common.js";

export interface GeoPoint {
  lat: number;
  lon: number;
}

export interface Warehouse extends Stored {
  name: string;
  location: GeoPoint | null;
  address?: Record<string, unknown>;
  capacity?: number;
  attributes: Record<string, unknown>;
}

export type NewWarehouse = Omit<Warehouse, keyof Stored | "location" | "attributes"> & {
  id: string;
  location?: GeoPoint | null;
  attributes?: Record<string, unknown>;
};

export interface StockLevel {
  tenantId: string;
  sku: string;
  warehouseId: string;
  onHand: number;
  reserved: number;
  /** onHand minus reserved, never below zero. */
  available: number;
  version: number;
  updatedAt: string;
}

export interface ReservationLineRequest {
  sku: string;
  quantity: number;
  /** When absent the first warehouse (by id) with enough available stock is used. */
  warehouseId?: string;
}

export interface ReservationLine {
  sku: string;
  warehouseId: string;
  quantity: number;
}

export type ReservationStatus = "active" | "committed" | "released" | "expired";

export interface Reservation {
  id: string;
  tenantId: string;
  engagementId?: string;
  lines: ReservationLine[];
  status: ReservationStatus;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
}

export interface ReserveRequest {
  lines: ReservationLineRequest[];
  engagementId?: string;
  /** Default 15 minutes. */
  ttlMs?: number;
  /** A second call with the same key returns the first reservation. */
  idempotencyKey?: string;
}

export type StockMovementKind = "set" | "adjust" | "reserve" | "release" | "commit" | "expire";

export interface StockMovement {
  id: string;
  tenantId: string;
  sku: string;
  warehouseId: string;
  kind: StockMovementKind;
  /** Change of on-hand stock. */
  onHandDelta: number;
  /** Change of reserved stock. */
  reservedDelta: number;
  reservationId?: string;
  reason?: string;
  at: string;
}

export interface Availability {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
  byWarehouse: StockLevel[];
}

export interface InventoryModule {
  upsertWarehouse(input: NewWarehouse): Promise<Warehouse>;
  getWarehouse(id: string): Promise<Warehouse | null>;
  listWarehouses(page?: PageRequest): Promise<Page<Warehouse>>;
  /** Sets on-hand stock; fails with ValidationError if that would go below what is reserved. */
  setStock(sku: string, warehouseId: string, onHand: number, options?: { reason?: string }): Promise<StockLevel>;
  adjustStock(sku: string, warehouseId: string, delta: number, options?: { reason?: string }): Promise<StockLevel>;
  getStock(sku: string, warehouseId: string): Promise<StockLevel | null>;
  availability(sku: string): Promise<Availability>;
  /** All lines or none. Throws InsufficientStockError naming the short lines. */
  reserve(request: ReserveRequest): Promise<Reservation>;
  getReservation(id: string): Promise<Reservation | null>;
  release(reservationId: string): Promise<Reservation>;
  /** Converts the reservation: on-hand and reserved both drop by the quantities. */
  commit(reservationId: string): Promise<Reservation>;
  /** Releases every active reservation whose expiry is before `now`; returns how many. */
  expireReservations(now?: Date): Promise<number>;
  movements(sku: string, options?: { warehouseId?: string; limit?: number }): Promise<StockMovement[]>;
}

export const DEFAULT_RESERVATION_TTL_MS = 15 * 60_000;
