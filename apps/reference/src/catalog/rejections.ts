/** Reason the importer did not load a source record. */
export type RejectionReason =
  | "not-an-object"
  | "missing-name"
  | "missing-id"
  | "missing-image"
  | "sku-not-in-image"
  | "missing-price"
  | "invalid-price"
  | "invalid-location"
  | "duplicate-sku"
  | "duplicate-id"
  | "datastore-rejected"
  /** Stored in the datastore but rejected by the search index; reported apart from rejections. */
  | "index-rejected";

/** One source record the import did not load, with its position in the source file. */
export interface Rejection {
  /** 0-based index of the record in its source array, or -1 for a record the import derived (a category taken from another record's path). */
  index: number;
  reason: RejectionReason;
  message: string;
  /** The offending value, when there is one. */
  value?: unknown;
  sku?: string;
}

/** Cuts long values so a rejection report stays readable. */
export function previewValue(value: unknown): unknown {
  if (typeof value === "string" && value.length > 120) return `${value.slice(0, 117)}...`;
  if (typeof value === "object" && value !== null) {
    const text = JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : value;
  }
  return value;
}
