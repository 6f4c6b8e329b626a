// Checks documents against the index definition, with the same rules and
// messages as the embedded search, and builds what OpenSearch stores.
import { toEpochMs, toOramaDocument, type IndexDefinition, type SearchDocument } from "@bridge/core";
import { DATE_COPIES } from "./mappings.js";

export type PreparedDocument = { ok: true; id: string; source: Record<string, unknown> } | { ok: false; id: string | undefined; message: string };

type CheckSchema = Parameters<typeof toOramaDocument>[0];

/** Builds the schema that core's document check reads; only the fields and the definition matter to it. */
export function checkSchemaOf(definition: IndexDefinition): CheckSchema {
  return { definition, fields: definition.fields, searchable: [], autocompleteField: undefined, oramaSchema: {} };
}

/**
 * Checks one document and returns the `_source` to send: the document as
 * given, plus the epoch-millisecond copy of each date field.
 */
export function prepareDocument(definition: IndexDefinition, schema: CheckSchema, document: unknown): PreparedDocument {
  const rawId = (document as { id?: unknown } | null | undefined)?.id;
  const id = typeof rawId === "string" ? rawId : undefined;
  const checked = toOramaDocument(schema, document as SearchDocument);
  if (!checked.ok) return { ok: false, id, message: checked.message };

  const source: Record<string, unknown> = { ...(document as SearchDocument) };
  const dates: Record<string, number> = {};
  for (const [field, type] of Object.entries(definition.fields)) {
    if (type !== "date") continue;
    const epochMs = toEpochMs(source[field]);
    if (epochMs !== undefined) dates[field] = epochMs;
  }
  if (Object.keys(dates).length > 0) source[DATE_COPIES] = dates;
  else delete source[DATE_COPIES];
  return { ok: true, id: id!, source };
}

/** Serializes a prepared document, or returns why it cannot be sent (cycles, BigInt). */
export function serializeSource(id: string, source: Record<string, unknown>): { ok: true; json: string } | { ok: false; message: string } {
  try {
    return { ok: true, json: JSON.stringify(source) };
  } catch (error) {
    return { ok: false, message: `document "${id}" cannot be sent: ${(error as Error).message}. Use plain JSON values` };
  }
}
