// Index settings and mappings built from a Bridge IndexDefinition. Field
// types map one to one. The kinds `products`, `warehouses` and `zones` get
// tuned mappings on top: facet fields, highlighting offsets, and the fields
// of that kind that the definition does not declare.
import { definitionKey, type IndexDefinition, type SearchFieldType } from "@bridge/core";
import { indexKind, type IndexKind } from "./naming.js";
import type { ResolvedOptions } from "./options.js";
import { WORD_SEPARATOR_PATTERN } from "./text.js";

/**
 * Object that contains an epoch-millisecond copy of each date field. Dates are
 * queried there, and it is left out of `_source`, so hits return each date
 * exactly as it was indexed, in whatever form the embedded search accepts.
 * The copies are longs rather than dates: Bridge converts every date value
 * itself, and OpenSearch's date parser rejects the Long.MIN_VALUE that
 * stands for a missing value in a descending `search_after`.
 */
export const DATE_COPIES = "bridge__date";
/**
 * Subfield of every text field that ranks like the embedded search: each
 * word counted once per value, scored by the `bridge_embedded` similarity.
 */
export const DISTINCT_SUBFIELD = "distinct";
/** Subfield of the autocomplete field with the edge n-grams of each word. */
export const AUTOCOMPLETE_SUBFIELD = "autocomplete";
/** Subfield of the autocomplete field with the whole value in lower case, for "starts with the typed text". */
export const NORMALIZED_SUBFIELD = "normalized";
/** Maximum length of the word prefixes that the edge n-grams index. Longer typed words are cut to this length and checked afterwards. */
export const MAX_EDGE_NGRAM = 20;
/** Version of the mapping that this file builds, raised on each change, so an index built by an older release can be recognized. */
export const MAPPING_VERSION = 1;

type Mapping = Record<string, unknown>;

/** Record in `_meta.bridge` of every index, so another process can read the definition back. */
export interface IndexMeta {
  definition: IndexDefinition;
  key: string;
  kind: IndexKind;
  mappingVersion: number;
}

export const ANALYSIS = {
  tokenizer: {
    bridge_words: { type: "pattern", pattern: WORD_SEPARATOR_PATTERN, flags: "CASE_INSENSITIVE|UNICODE_CASE" },
  },
  filter: {
    bridge_edge_ngram: { type: "edge_ngram", min_gram: 1, max_gram: MAX_EDGE_NGRAM },
  },
  analyzer: {
    bridge_text: { type: "custom", tokenizer: "bridge_words", filter: ["lowercase", "asciifolding"] },
    bridge_autocomplete: { type: "custom", tokenizer: "bridge_words", filter: ["lowercase", "asciifolding", "bridge_edge_ngram"] },
    // Orama counts each distinct word of a value once, so repeated words are dropped before scoring.
    bridge_distinct: { type: "custom", tokenizer: "bridge_words", filter: ["lowercase", "asciifolding", "unique"] },
  },
  normalizer: {
    bridge_lowercase: { type: "custom", filter: ["lowercase", "asciifolding"] },
  },
};

/**
 * Orama 3.1's BM25 variant (k = 1.2, b = 0.75, d = 0.5) with its term
 * frequency, the share of the value's distinct words that the term is:
 * idf * (d + tf * (k + 1)) / (tf + k * (1 - b + b * length / average length)).
 * Over the `unique`-filtered subfield, `doc.freq` is 1 and `doc.length` the
 * distinct word count, as Orama stores them.
 */
const EMBEDDED_SIMILARITY_SCRIPT = [
  "double length = doc.length;",
  "double tf = doc.freq / length;",
  "double idf = Math.log(1 + (field.docCount - term.docFreq + 0.5) / (term.docFreq + 0.5));",
  "double averageLength = field.sumTotalTermFreq / (double) field.docCount;",
  "return query.boost * idf * (0.5 + tf * 2.2) / (tf + 1.2 * (0.25 + 0.75 * length / averageLength));",
].join(" ");

export const SIMILARITY = {
  bridge_embedded: { type: "scripted", script: { source: EMBEDDED_SIMILARITY_SCRIPT } },
};

/** Fields each tuned kind maps, whether or not the definition declares them. */
const KIND_FIELDS: Record<Exclude<IndexKind, "generic">, Record<string, Mapping>> = {
  products: {
    title: { type: "text", analyzer: "bridge_text" },
    description: { type: "text", analyzer: "bridge_text", index_options: "offsets" },
    sku: { type: "keyword" },
    category: { type: "keyword", eager_global_ordinals: true },
    brand: { type: "keyword", eager_global_ordinals: true },
    price: { type: "double", ignore_malformed: true },
    in_stock: { type: "boolean" },
    // Name and value pairs such as { name: "color", value: "black" }; nested so a query can match both in one pair.
    attributes: {
      type: "nested",
      dynamic: false,
      properties: { name: { type: "keyword" }, value: { type: "keyword", ignore_above: 256 } },
    },
  },
  warehouses: {
    warehouse_id: { type: "keyword" },
    name: { type: "text", analyzer: "bridge_text" },
    location: { type: "geo_point", ignore_malformed: true },
    delivery_zones: { type: "geo_shape", ignore_malformed: true },
    capacity: { type: "integer", ignore_malformed: true },
  },
  zones: {
    zone_id: { type: "keyword" },
    name: { type: "text", analyzer: "bridge_text" },
    geometry: { type: "geo_shape", ignore_malformed: true },
    warehouse_ids: { type: "keyword" },
  },
};

/** The Bridge field type that each tuned field stands for, so a declared field keeps its tuning only when the types agree. */
const TUNED_TYPE: Record<string, SearchFieldType> = {
  text: "text",
  keyword: "keyword",
  double: "number",
  integer: "number",
  boolean: "boolean",
  geo_point: "geo_point",
  geo_shape: "geo_shape",
};

function fieldMapping(type: SearchFieldType): Mapping {
  switch (type) {
    case "text":
      return { type: "text", analyzer: "bridge_text", fields: distinctSubfield() };
    case "keyword":
      return { type: "keyword" };
    // Doubles hold every value the embedded search accepts: finite JavaScript numbers.
    case "number":
      return { type: "double" };
    case "boolean":
      return { type: "boolean" };
    // The value stays in _source as given, and DATE_COPIES contains what is queried.
    case "date":
      return { type: "object", enabled: false };
    case "geo_point":
      return { type: "geo_point" };
    case "geo_shape":
      return { type: "geo_shape" };
    case "object":
      return { type: "object", enabled: false };
  }
}

/** Returns the field that autocomplete searches: the declared one, else the first text field. */
export function autocompleteFieldOf(definition: IndexDefinition): string | undefined {
  return definition.autocompleteField ?? Object.keys(definition.fields).find((field) => definition.fields[field] === "text");
}

/** Builds the mapping of an index from a definition that `checkDefinition` accepted. */
export function buildMappings(definition: IndexDefinition): Mapping {
  const kind = indexKind(definition.name);
  const tuned = kind === "generic" ? {} : KIND_FIELDS[kind];
  const properties: Record<string, Mapping> = {};

  // Fields the kind maps but the definition leaves out are indexed for provider-specific queries.
  for (const [field, mapping] of Object.entries(tuned)) {
    if (!(field in definition.fields)) properties[field] = structuredClone(mapping);
  }

  const dates: Record<string, Mapping> = {};
  for (const [field, type] of Object.entries(definition.fields)) {
    const tunedMapping = tuned[field];
    const tunedType = tunedMapping === undefined ? undefined : TUNED_TYPE[tunedMapping.type as string];
    properties[field] = tunedType === type ? withoutLenience(tunedMapping!) : fieldMapping(type);
    if (type === "date") dates[field] = { type: "long" };
  }

  const autocompleteField = autocompleteFieldOf(definition);
  if (autocompleteField !== undefined) {
    properties[autocompleteField] = {
      ...properties[autocompleteField],
      fields: {
        ...distinctSubfield(),
        [AUTOCOMPLETE_SUBFIELD]: { type: "text", analyzer: "bridge_autocomplete", search_analyzer: "bridge_text" },
        [NORMALIZED_SUBFIELD]: { type: "keyword", normalizer: "bridge_lowercase", ignore_above: 256 },
      },
    };
  }

  // The document id doubles as the tiebreaker of every sort.
  properties.id = { type: "keyword" };
  if (Object.keys(dates).length > 0) properties[DATE_COPIES] = { properties: dates };

  const meta: IndexMeta = { definition: structuredClone(definition), key: definitionKey(definition), kind, mappingVersion: MAPPING_VERSION };
  return {
    // Undeclared fields are kept in _source but not indexed, as in the embedded search.
    dynamic: false,
    ...(Object.keys(dates).length > 0 ? { _source: { excludes: [DATE_COPIES] } } : {}),
    _meta: { bridge: meta },
    properties,
  };
}

/** Drops `ignore_malformed`: a declared field was checked before indexing, so a malformed value there is an error rather than something to skip. */
function withoutLenience(mapping: Mapping): Mapping {
  const { ignore_malformed: _ignored, ...rest } = mapping;
  const copy = structuredClone(rest);
  if (copy.type === "text") copy.fields = distinctSubfield();
  return copy;
}

function distinctSubfield(): Record<string, Mapping> {
  return { [DISTINCT_SUBFIELD]: { type: "text", analyzer: "bridge_distinct", similarity: "bridge_embedded" } };
}

/** Settings of a new index: shards, replicas, refresh interval and the analyzers. */
export function buildSettings(options: ResolvedOptions): Mapping {
  return {
    number_of_shards: options.shards,
    number_of_replicas: options.replicas,
    refresh_interval: options.refreshInterval,
    analysis: ANALYSIS,
    similarity: SIMILARITY,
  };
}

/** Reads `_meta.bridge` from a mapping returned by the server, or undefined when the index was not made by this package. */
export function readMeta(mapping: unknown): IndexMeta | undefined {
  const bridge = (mapping as { _meta?: { bridge?: Partial<IndexMeta> } } | undefined)?._meta?.bridge;
  if (bridge === undefined || typeof bridge.key !== "string" || typeof bridge.definition !== "object" || bridge.definition === null) return undefined;
  return bridge as IndexMeta;
}
