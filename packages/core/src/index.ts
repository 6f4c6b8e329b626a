export * from "./errors.js";
export * from "./tenant.js";
export * from "./integration.js";
export * from "./roles/queue.js";
export * from "./roles/logs.js";
export * from "./roles/notifications.js";
export * from "./roles/data/index.js";
export * from "./roles/search.js";
export * from "./roles/messaging.js";
export * from "./roles/secrets.js";
export * from "./roles/crypto.js";
export * from "./roles/ai.js";
export * from "./roles/catalog.js";

export * from "./registry.js";
export * from "./env.js";
export * from "./logs.js";
export * from "./worker.js";
export * from "./jobcard.js";
export * from "./resilience.js";
export * from "./telemetry.js";

export * from "./data/cursor.js";
export * from "./data/decimal.js";
export * from "./data/errors.js";
export * from "./data/filters.js";
export * from "./data/json.js";
export * from "./data/lifecycle.js";
export * from "./data/pricing-engine.js";
export * from "./data/slug.js";
export * from "./data/translator-runtime.js";
export * from "./data/validation.js";

export * from "./embedded/index.js";
export * from "./embedded/queue.js";
export * from "./embedded/notifications.js";
export * from "./embedded/log-sink.js";
export * from "./embedded/search.js";
// Index definition and document checks of the embedded search, shared with search providers so both reject the same input.
export {
  checkDefinition,
  checkGeoShape,
  definitionKey,
  isGeoPoint,
  searchAfterMismatch,
  toEpochMs,
  toOramaDocument,
  type GeoShape,
  type SearchSortKind,
  type ToOramaResult,
} from "./embedded/search-schema.js";
export * from "./embedded/outbox.js";
export * from "./embedded/secrets.js";
export * from "./embedded/crypto.js";
export * from "./embedded/data/index.js";
