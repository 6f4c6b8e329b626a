// Indexes created at start. createIndex is idempotent, so every start runs the
// whole list. A server without text or TTL indexes (FerretDB 1.x) gets the
// fallbacks instead: a regex title match and a periodic log cleanup.
import type { Logger } from "@bridge/core";
import { MongoServerError, type CreateIndexesOptions, type Db, type IndexSpecification } from "mongodb";

export type IndexKind = "plain" | "unique" | "text" | "ttl";

export interface IndexDefinition {
  collection: string;
  key: IndexSpecification;
  name: string;
  kind: IndexKind;
}

export interface IndexReport {
  textSearch: boolean;
  ttlIndexes: boolean;
  /** Indexes the server rejected, with its message; the provider uses the fallback for each. */
  skipped: Array<{ collection: string; name: string; reason: string }>;
}

export const INDEXES: readonly IndexDefinition[] = [
  { collection: "engagements", name: "tenant_customer_created", kind: "plain", key: { tenantId: 1, customerId: 1, createdAt: -1 } },
  { collection: "engagements", name: "tenant_status", kind: "plain", key: { tenantId: 1, status: 1 } },
  { collection: "engagements", name: "tenant_order_number", kind: "plain", key: { tenantId: 1, "attributes.orderNumber": 1 } },
  { collection: "engagements", name: "tenant_created_id", kind: "plain", key: { tenantId: 1, createdAt: -1, id: -1 } },
  { collection: "engagement_events", name: "tenant_engagement_version", kind: "unique", key: { tenantId: 1, engagementId: 1, version: 1 } },

  { collection: "products", name: "tenant_sku", kind: "unique", key: { tenantId: 1, sku: 1 } },
  { collection: "products", name: "tenant_slug", kind: "unique", key: { tenantId: 1, slug: 1 } },
  { collection: "products", name: "tenant_category", kind: "plain", key: { tenantId: 1, categoryIds: 1, id: 1 } },
  { collection: "products", name: "tenant_id", kind: "plain", key: { tenantId: 1, id: 1 } },
  { collection: "products", name: "tenant_title_text", kind: "text", key: { tenantId: 1, title: "text" } },
  { collection: "categories", name: "tenant_slug", kind: "unique", key: { tenantId: 1, slug: 1 } },
  { collection: "categories", name: "tenant_parent", kind: "plain", key: { tenantId: 1, parentId: 1 } },
  { collection: "categories", name: "tenant_id", kind: "plain", key: { tenantId: 1, id: 1 } },
  { collection: "brands", name: "tenant_slug", kind: "unique", key: { tenantId: 1, slug: 1 } },
  { collection: "brands", name: "tenant_id", kind: "plain", key: { tenantId: 1, id: 1 } },
  { collection: "warehouses", name: "tenant_id", kind: "plain", key: { tenantId: 1, id: 1 } },

  { collection: "inventory", name: "tenant_sku_warehouse", kind: "unique", key: { tenantId: 1, sku: 1, warehouseId: 1 } },
  { collection: "inventory", name: "tenant_sku_available", kind: "plain", key: { tenantId: 1, sku: 1, available: 1 } },
  { collection: "reservations", name: "tenant_status_expiry", kind: "plain", key: { tenantId: 1, status: 1, expiresAt: 1 } },
  { collection: "stock_movements", name: "tenant_sku_seq", kind: "plain", key: { tenantId: 1, sku: 1, seq: -1 } },

  { collection: "price_lists", name: "tenant_sku", kind: "plain", key: { tenantId: 1, "prices.sku": 1 } },
  { collection: "price_lists", name: "tenant_id", kind: "plain", key: { tenantId: 1, id: 1 } },
  { collection: "price_rules", name: "tenant_sku", kind: "plain", key: { tenantId: 1, sku: 1 } },
  { collection: "price_rules", name: "tenant_id", kind: "plain", key: { tenantId: 1, id: 1 } },
  { collection: "price_snapshots", name: "tenant_engagement", kind: "plain", key: { tenantId: 1, engagementId: 1 } },

  { collection: "workers", name: "tenant_community_status", kind: "plain", key: { tenantId: 1, communityId: 1, status: 1 } },
  { collection: "workers", name: "tenant_last_call_home", kind: "plain", key: { tenantId: 1, lastCallHome: 1 } },
  { collection: "workers", name: "tenant_worker_type", kind: "plain", key: { tenantId: 1, workerType: 1 } },
  { collection: "workers", name: "tenant_id", kind: "plain", key: { tenantId: 1, id: 1 } },
  { collection: "worker_vitals", name: "tenant_worker_seq", kind: "plain", key: { tenantId: 1, workerId: 1, seq: -1 } },

  { collection: "logs", name: "timestamp_level", kind: "plain", key: { timestamp: -1, level: 1 } },
  { collection: "logs", name: "worker_timestamp", kind: "plain", key: { workerId: 1, timestamp: -1 } },
  { collection: "logs", name: "timestamp_ttl", kind: "ttl", key: { timestamp: 1 } },
  { collection: "error_logs", name: "timestamp_ttl", kind: "ttl", key: { timestamp: 1 } },

  { collection: "translator_configs", name: "tenant_name_version", kind: "unique", key: { tenantId: 1, name: 1, configVersion: -1 } },
  { collection: "uom_configurations", name: "tenant_name", kind: "unique", key: { tenantId: 1, name: 1 } },
  { collection: "repo_history", name: "tenant_collection_document_version", kind: "unique", key: { tenantId: 1, collection: 1, documentId: 1, version: -1 } },
  { collection: "lists", name: "tenant_customer", kind: "plain", key: { tenantId: 1, customerId: 1, id: 1 } },
  { collection: "lists", name: "share_token", kind: "plain", key: { shareToken: 1 } },
  { collection: "list_items", name: "tenant_list", kind: "plain", key: { tenantId: 1, listId: 1, seq: 1 } },
  { collection: "reservations", name: "tenant_idempotency_key", kind: "plain", key: { tenantId: 1, idempotencyKey: 1 } },
];

// Server codes for an index that exists with other options, such as a changed TTL.
const INDEX_OPTIONS_CONFLICT = new Set([85, 86]);

export interface EnsureIndexesOptions {
  logsTtlSeconds: number;
  logger: Logger;
}

/** Creates every index in INDEXES and reports which kinds the server took. */
export async function ensureIndexes(db: Db, options: EnsureIndexesOptions): Promise<IndexReport> {
  const report: IndexReport = { textSearch: true, ttlIndexes: true, skipped: [] };

  for (const index of INDEXES) {
    const createOptions: CreateIndexesOptions = { name: index.name };
    if (index.kind === "unique") createOptions.unique = true;
    if (index.kind === "ttl") createOptions.expireAfterSeconds = options.logsTtlSeconds;

    try {
      await db.collection(index.collection).createIndex(index.key, createOptions);
    } catch (error) {
      if (index.kind === "ttl" && isOptionsConflict(error)) {
        // The TTL changed since the index was made: collMod updates it in place.
        await db.command({ collMod: index.collection, index: { keyPattern: index.key, expireAfterSeconds: options.logsTtlSeconds } });
        continue;
      }
      if (index.kind === "plain" || index.kind === "unique") throw error;

      const reason = error instanceof Error ? error.message : String(error);
      report.skipped.push({ collection: index.collection, name: index.name, reason });
      if (index.kind === "text") report.textSearch = false;
      if (index.kind === "ttl") report.ttlIndexes = false;
    }
  }

  if (report.skipped.length > 0) {
    options.logger.info("the server rejected some index kinds; the provider uses fallbacks for them", {
      skipped: report.skipped,
      fallbacks: {
        ...(report.textSearch ? {} : { text: "title search matches an escaped, case-insensitive regex" }),
        ...(report.ttlIndexes ? {} : { ttl: "a periodic deleteMany removes log entries older than the TTL" }),
      },
    });
  }
  return report;
}

function isOptionsConflict(error: unknown): boolean {
  return error instanceof MongoServerError && INDEX_OPTIONS_CONFLICT.has(Number(error.code));
}
