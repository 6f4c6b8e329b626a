import type { BulkResult, FieldFilter, Page, PageRequest, Stored, WriteOptions } from "./common.js";

export interface RepositoryDocument<T = Record<string, unknown>> extends Stored {
  collection: string;
  data: T;
}

export interface RepositoryModule {
  put<T extends Record<string, unknown>>(collection: string, id: string, data: T, options?: WriteOptions): Promise<RepositoryDocument<T>>;
  get<T = Record<string, unknown>>(collection: string, id: string): Promise<RepositoryDocument<T> | null>;
  delete(collection: string, id: string, options?: WriteOptions): Promise<boolean>;
  /** Equality on top-level fields of `data`; values are data, never operators. */
  find<T = Record<string, unknown>>(collection: string, filter: FieldFilter, page?: PageRequest): Promise<Page<RepositoryDocument<T>>>;
  bulkPut(collection: string, documents: Array<{ id: string; data: Record<string, unknown> }>): Promise<BulkResult>;
  /** Earlier versions, newest first. */
  history<T = Record<string, unknown>>(collection: string, id: string): Promise<RepositoryDocument<T>[]>;
}
