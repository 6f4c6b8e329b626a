/** Money in integer minor units (cents for USD), never binary floating point. */
export interface Money {
  amountMinor: number;
  /** ISO 4217 code, upper case. */
  currency: string;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface PageRequest {
  limit?: number;
  cursor?: string | null;
}

/** Every stored record carries these. */
export interface Stored {
  id: string;
  tenantId: string;
  /** Starts at 1 and grows by one on each update; used for optimistic concurrency. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface WriteOptions {
  /** The update fails with VersionConflictError unless the stored version equals this. */
  expectedVersion?: number;
  /** Actor of the change, recorded in events. */
  actor?: string;
}

export interface BulkRowError {
  index: number;
  key: string | undefined;
  code: string;
  message: string;
}

export interface BulkResult {
  inserted: number;
  updated: number;
  failed: BulkRowError[];
}

/** Field filters on stored records: values are data only (string, number, boolean, null or an array of them). */
export type FieldFilter = Record<string, string | number | boolean | null | Array<string | number | boolean>>;
