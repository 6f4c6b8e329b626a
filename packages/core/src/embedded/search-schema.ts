// Index definitions and documents of the embedded search, checked and turned
// into the Orama schema and the Orama document that one index stores.
import type { GeoPoint } from "../roles/data/inventory.js";
import type { IndexDefinition, SearchDocument, SearchFieldType } from "../roles/search.js";

/** Orama property type for each Bridge field type; null where the field is stored but not indexed. */
const ORAMA_TYPES: Record<SearchFieldType, "string[]" | "enum[]" | "number" | "boolean" | "geopoint" | null> = {
  // Arrays for text and keyword so that one field takes a single value or a list.
  text: "string[]",
  keyword: "enum[]",
  number: "number",
  boolean: "boolean",
  // Dates are indexed as epoch milliseconds.
  date: "number",
  geo_point: "geopoint",
  // Shapes are matched by point-in-polygon over the stored documents.
  geo_shape: null,
  object: null,
};

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INDEX_NAME = /^[a-z0-9][a-z0-9_-]{0,127}$/;
/** Same limit as OpenSearch's `_id` (512 bytes), counted in characters here. */
const MAX_ID_LENGTH = 512;

export interface SearchableField {
  field: string;
  boost: number;
}

/** A definition after checks, with defaults filled in. */
export interface IndexSchema {
  definition: IndexDefinition;
  fields: Record<string, SearchFieldType>;
  searchable: SearchableField[];
  autocompleteField: string | undefined;
  oramaSchema: Record<string, string>;
}

/** Checks a definition and returns the problems in plain words; empty when it is valid. */
export function checkDefinition(definition: IndexDefinition): string[] {
  const problems: string[] = [];
  if (typeof definition?.name !== "string" || !INDEX_NAME.test(definition.name)) {
    problems.push(
      `name ${JSON.stringify(definition?.name)} is invalid: use 1-128 lowercase letters, digits, "_" or "-", starting with a letter or digit`,
    );
  }
  const fields = definition?.fields;
  if (typeof fields !== "object" || fields === null || Object.keys(fields).length === 0) {
    problems.push("fields is empty: declare at least one field, such as { title: \"text\" }");
    return problems;
  }

  for (const [field, type] of Object.entries(fields)) {
    if (field === "id") {
      problems.push('field "id" is the document id and is always stored: remove it from fields');
    } else if (!FIELD_NAME.test(field)) {
      problems.push(`field name ${JSON.stringify(field)} is invalid: use letters, digits and "_", starting with a letter or "_"`);
    }
    if (!(type in ORAMA_TYPES)) {
      problems.push(`field "${field}" has unknown type ${JSON.stringify(type)}: use one of ${Object.keys(ORAMA_TYPES).join(", ")}`);
    }
  }

  for (const entry of definition.searchableFields ?? []) {
    const field = typeof entry === "string" ? entry : entry?.field;
    if (fields[field] !== "text") {
      problems.push(`searchable field ${JSON.stringify(field)} is not a text field of this index`);
    }
    if (typeof entry === "object" && !(Number.isFinite(entry.boost) && entry.boost > 0)) {
      problems.push(`boost of searchable field "${field}" is ${JSON.stringify(entry.boost)}: use a number above 0`);
    }
  }
  const autocomplete = definition.autocompleteField;
  if (autocomplete !== undefined && fields[autocomplete] !== "text") {
    problems.push(`autocompleteField ${JSON.stringify(autocomplete)} is not a text field of this index`);
  }
  return problems;
}

/** Builds the schema of a definition that `checkDefinition` accepted. */
export function buildSchema(definition: IndexDefinition): IndexSchema {
  const fields = { ...definition.fields };
  const textFields = Object.keys(fields).filter((field) => fields[field] === "text");
  const searchable =
    definition.searchableFields && definition.searchableFields.length > 0
      ? definition.searchableFields.map((entry) => (typeof entry === "string" ? { field: entry, boost: 1 } : { ...entry }))
      : textFields.map((field) => ({ field, boost: 1 }));

  const oramaSchema: Record<string, string> = {};
  for (const [field, type] of Object.entries(fields)) {
    const oramaType = ORAMA_TYPES[type];
    if (oramaType !== null) oramaSchema[field] = oramaType;
  }

  return {
    definition: structuredClone(definition),
    fields,
    searchable,
    autocompleteField: definition.autocompleteField ?? textFields[0],
    oramaSchema,
  };
}

/** Serializes a definition in a stable order, so `ensureIndex` can tell a repeated call from a changed definition. */
export function definitionKey(definition: IndexDefinition): string {
  const fields = Object.keys(definition.fields)
    .sort()
    .map((field) => [field, definition.fields[field]]);
  const searchable = (definition.searchableFields ?? []).map((entry) =>
    typeof entry === "string" ? [entry, 1] : [entry.field, entry.boost],
  );
  return JSON.stringify([definition.name, fields, searchable, definition.autocompleteField ?? null]);
}

export type ToOramaResult = { ok: true; document: Record<string, unknown> } | { ok: false; message: string };

/**
 * Checks a document against the schema and returns what Orama stores for it.
 * Fields that the definition does not declare are kept on the stored
 * document but not indexed, like OpenSearch with `dynamic: false`.
 */
export function toOramaDocument(schema: IndexSchema, document: SearchDocument): ToOramaResult {
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    return { ok: false, message: `document must be an object with a string id, got ${describe(document)}` };
  }
  const id: unknown = document.id;
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH) {
    return { ok: false, message: `document id must be a string of 1-${MAX_ID_LENGTH} characters, got ${describe(id)}` };
  }

  const result: Record<string, unknown> = { id };
  const problems: string[] = [];
  for (const [field, type] of Object.entries(schema.fields)) {
    const value = document[field];
    if (value === undefined || value === null) continue;
    const converted = convertField(type, value);
    if (converted.problem !== undefined) {
      problems.push(`field "${field}" (${type}) ${converted.problem}, got ${describe(value)}`);
    } else if (converted.value !== undefined) {
      result[field] = converted.value;
    }
  }
  if (problems.length > 0) {
    return { ok: false, message: `document "${id}" does not fit index "${schema.definition.name}": ${problems.join("; ")}` };
  }
  return { ok: true, document: result };
}

function convertField(type: SearchFieldType, value: unknown): { value?: unknown; problem?: string } {
  switch (type) {
    case "text":
    case "keyword": {
      const list = Array.isArray(value) ? value : [value];
      if (!list.every((item) => typeof item === "string")) {
        return { problem: "must be a string or an array of strings" };
      }
      return { value: list };
    }
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? { value } : { problem: "must be a finite number" };
    case "boolean":
      return typeof value === "boolean" ? { value } : { problem: "must be true or false" };
    case "date": {
      const epochMs = toEpochMs(value);
      return epochMs === undefined
        ? { problem: "must be an ISO 8601 string, a Date or epoch milliseconds" }
        : { value: epochMs };
    }
    case "geo_point":
      return isGeoPoint(value) ? { value: { lat: value.lat, lon: value.lon } } : { problem: "must be { lat: -90..90, lon: -180..180 }" };
    case "geo_shape": {
      const problem = checkGeoShape(value);
      return problem === undefined ? {} : { problem };
    }
    case "object":
      return {};
  }
}

/** Epoch milliseconds of a date value, or undefined when it is not a date. */
export function toEpochMs(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value === "string" && value.trim() !== "") {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

export function isGeoPoint(value: unknown): value is GeoPoint {
  if (typeof value !== "object" || value === null) return false;
  const { lat, lon } = value as Record<string, unknown>;
  return (
    typeof lat === "number" &&
    typeof lon === "number" &&
    Number.isFinite(lat) &&
    Number.isFinite(lon) &&
    Math.abs(lat) <= 90 &&
    Math.abs(lon) <= 180
  );
}

/** GeoJSON geometry that a geo_shape field stores (RFC 7946 positions are [lon, lat]). */
export type GeoShape = { type: "Polygon"; coordinates: number[][][] } | { type: "MultiPolygon"; coordinates: number[][][][] };

/** Returns what is wrong with a GeoJSON Polygon or MultiPolygon, or undefined when it is valid. */
export function checkGeoShape(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "must be a GeoJSON Polygon or MultiPolygon";
  const { type, coordinates } = value as Record<string, unknown>;
  if (type === "Polygon") return checkPolygon(coordinates);
  if (type === "MultiPolygon") {
    if (!Array.isArray(coordinates) || coordinates.length === 0) return "must have at least one polygon in coordinates";
    for (const polygon of coordinates) {
      const problem = checkPolygon(polygon);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  return `must be a GeoJSON Polygon or MultiPolygon, not type ${JSON.stringify(type)}`;
}

function checkPolygon(rings: unknown): string | undefined {
  if (!Array.isArray(rings) || rings.length === 0) return "must have at least one linear ring in coordinates";
  for (const ring of rings) {
    if (!Array.isArray(ring) || ring.length < 4) return "has a ring with fewer than 4 positions";
    for (const position of ring) {
      if (!isPosition(position)) return "has a position that is not [lon -180..180, lat -90..90]";
    }
    const first = ring[0] as number[];
    const last = ring[ring.length - 1] as number[];
    if (first[0] !== last[0] || first[1] !== last[1]) {
      return "has a ring that is not closed: repeat the first position at the end";
    }
  }
  return undefined;
}

function isPosition(value: unknown): boolean {
  if (!Array.isArray(value) || value.length < 2) return false;
  const [lon, lat] = value as unknown[];
  return (
    typeof lon === "number" &&
    typeof lat === "number" &&
    Number.isFinite(lon) &&
    Number.isFinite(lat) &&
    Math.abs(lon) <= 180 &&
    Math.abs(lat) <= 90
  );
}

/** Formats a rejected value for an error message, cut to 80 characters. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Sort key as search providers plan it: by relevance score, by a field of a type, or by distance. */
export type SearchSortKind = { kind: "score" } | { kind: "field"; type: SearchFieldType } | { kind: "distance" };

/**
 * Returns the value kinds a `searchAfter` cursor needs for `sort` (one per
 * sort key, then the document id) when `cursor` does not fit them, or
 * undefined when it fits. Keys other than the score may be null, for
 * documents without the field.
 */
export function searchAfterMismatch(cursor: unknown, sort: readonly SearchSortKind[]): string[] | undefined {
  const expected = [...sort.map(sortValueKind), "string (document id)"];
  if (!Array.isArray(cursor) || cursor.length !== sort.length + 1) return expected;

  const fits = sort.every((key, position) => {
    const value: unknown = cursor[position];
    const kind = sortValueKind(key);
    if (value === null) return key.kind !== "score";
    if (kind === "number") return typeof value === "number" && Number.isFinite(value);
    return typeof value === kind;
  });
  return fits && typeof cursor[sort.length] === "string" ? undefined : expected;
}

function sortValueKind(key: SearchSortKind): "number" | "string" | "boolean" {
  if (key.kind !== "field") return "number";
  if (key.type === "keyword") return "string";
  if (key.type === "boolean") return "boolean";
  return "number";
}
