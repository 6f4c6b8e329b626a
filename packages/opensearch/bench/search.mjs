#!/usr/bin/env node
// Search benchmark on the reference app's real catalogue.
//  1. Bulk indexing: documents per second through Bridge's bulkIndex and
//     through the official client's bulk helper (client.helpers.bulk) into an
//     index with the same settings and mapping, rounds alternating.
//  2. Queries: latency of the same full-text queries (with brand and category
//     facets) through Bridge on OpenSearch, through the raw client sending the
//     same request body, and through the embedded search (Orama) as the peer;
//     also through Bridge with OPENSEARCH_SCORING=bm25 (fields bm25_*).
// Prints one `BENCH {json}` line per measurement.
//
// Usage (after a build): node packages/opensearch/bench/search.mjs [--quick]
// Needs OpenSearch on OPENSEARCH_NODE (default http://127.0.0.1:9200).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Client } from "@opensearch-project/opensearch";
import { createMemorySearch, runWithTenant } from "@bridge/core";
import { opensearch } from "../dist/index.js";

const quick = process.argv.includes("--quick");
/** Copies of the catalogue indexed per bulk round (about 2,900 products each). */
const COPIES = quick ? 1 : 4;
const ROUNDS = quick ? 3 : 5;
/** Passes over the query list per path. */
const QUERY_PASSES = quick ? 5 : 20;
const NODE = process.env.OPENSEARCH_NODE?.trim() || "http://127.0.0.1:9200";

const PRODUCTS = {
  name: "products",
  fields: { title: "text", description: "text", sku: "keyword", brand: "keyword", category: "keyword", price: "number", in_stock: "boolean", popularity: "number" },
  searchableFields: [{ field: "title", boost: 3 }, "description"],
  autocompleteField: "title",
};

const QUERIES = [
  ...["samsung galaxy", "iphone case", "screen protector", "wireless charger", "car charger", "otterbox defender", "apple watch band", "tempered glass"].map((text) => ({ text })),
  ...["portable power bank", "selfie stick", "usb-c", "galaxy s7 edge", "memory card", "prepaid phone", "charging cable", "fitbit"].map((text) => ({ text })),
  ...["headphnes", "samsng galxy", "chrger"].map((text) => ({ text, fuzzy: true })),
];

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error(message, fields) { console.error(message, fields); }, fatal() {}, child() { return silent; } };

function catalogue() {
  const path = new URL("../../../apps/reference/data/typesense-ecommerce/products.json", import.meta.url);
  const records = JSON.parse(readFileSync(path, "utf8"));
  const seen = new Set();
  const documents = [];
  for (const record of records) {
    const sku = /\/(\d+)[^/]*\.(?:jpe?g|png|gif|webp)$/i.exec(record.image)?.[1];
    if (sku === undefined || seen.has(sku)) continue;
    seen.add(sku);
    documents.push({
      id: sku,
      title: record.name,
      description: record.description ?? "",
      sku,
      brand: record.brand ?? "",
      category: record.categories.at(-1) ?? "",
      price: Math.round(record.price * 100),
      in_stock: record.popularity % 3 !== 0,
      popularity: record.popularity,
    });
  }
  return documents;
}

function copies(documents, count) {
  const all = [];
  for (let copy = 0; copy < count; copy++) for (const document of documents) all.push(copy === 0 ? document : { ...document, id: `${document.id}-${copy}` });
  return all;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const median = (values) => percentile([...values].sort((a, b) => a - b), 50);
const round2 = (value) => Math.round(value * 100) / 100;

/** Splits user text into distinct words, as Bridge's `bridge_text` analyzer does. */
function words(text) {
  return [...new Set(text.toLowerCase().split(/[^a-z0-9_'\-àèéìòóù]+/).filter(Boolean))];
}

/** Builds the request body that Bridge sends for a text query with facets, by hand, as a user of the raw client would. */
function rawBody({ text, fuzzy }) {
  return {
    query: {
      bool: {
        must: words(text).map((word) => ({
          multi_match: { query: word, type: "most_fields", fields: ["title.distinct^3", "description.distinct"], ...(fuzzy ? { fuzziness: "AUTO" } : {}) },
        })),
        filter: [],
      },
    },
    sort: [{ _score: { order: "desc" } }, { id: { order: "asc" } }],
    track_scores: true,
    track_total_hits: true,
    size: 11,
    from: 0,
    aggs: {
      brand: { terms: { field: "brand", size: 20, order: [{ _count: "desc" }, { _key: "asc" }] } },
      category: { terms: { field: "category", size: 20, order: [{ _count: "desc" }, { _key: "asc" }] } },
    },
  };
}

async function main() {
  const prefix = `bench${randomBytes(3).toString("hex")}`;
  const client = new Client({ node: NODE });
  const integration = opensearch({ node: NODE, replicas: 0, indexPrefix: prefix });
  await integration.start({ logger: silent });
  const search = integration.modules.search;
  const base = catalogue();
  const documents = copies(base, COPIES);

  try {
    // The raw index copies the settings and mapping of an index Bridge made.
    const templateAlias = await runWithTenant("template", async () => {
      await search.ensureIndex(PRODUCTS);
      return search.aliasOf("products");
    });
    const template = Object.values((await client.indices.get({ index: templateAlias })).body)[0];
    const rawIndexBody = {
      settings: { number_of_shards: 1, number_of_replicas: 0, analysis: template.settings.index.analysis, similarity: template.settings.index.similarity },
      mappings: template.mappings,
    };

    // 1. Bulk indexing
    const bridgeRates = [];
    const rawRates = [];
    const ratios = [];
    const bridgeRoundMs = [];
    for (let round = 0; round < ROUNDS; round++) {
      const tenant = `bulk${round}`;
      const rawIndex = `${prefix}.raw-bulk${round}`;
      await runWithTenant(tenant, () => search.ensureIndex(PRODUCTS));
      await client.indices.create({ index: rawIndex, body: rawIndexBody });

      const runBridge = async () => {
        const started = performance.now();
        const result = await runWithTenant(tenant, () => search.bulkIndex("products", documents));
        const ms = performance.now() - started;
        if (result.failed.length > 0) throw new Error(`bridge bulk failed for ${result.failed.length} documents: ${result.failed[0].message}`);
        bridgeRoundMs.push(ms);
        return documents.length / (ms / 1000);
      };
      const runRaw = async () => {
        const started = performance.now();
        // Refreshes at the end, as bulkIndex does under the default writeRefresh, so both make the documents visible.
        const stats = await client.helpers.bulk({
          datasource: documents,
          onDocument: (document) => ({ index: { _index: rawIndex, _id: document.id } }),
          refreshOnCompletion: true,
        });
        const ms = performance.now() - started;
        if (stats.failed > 0) throw new Error(`raw bulk failed for ${stats.failed} documents`);
        return documents.length / (ms / 1000);
      };

      // Alternating which path goes first evens out warm-up and merges left by the previous round.
      const [bridgeRate, rawRate] = round % 2 === 0 ? [await runBridge(), await runRaw()] : await runRaw().then(async (raw) => [await runBridge(), raw]);
      bridgeRates.push(bridgeRate);
      rawRates.push(rawRate);
      ratios.push(bridgeRate / rawRate);

      await runWithTenant(tenant, () => search.dropIndex("products"));
      await client.indices.delete({ index: rawIndex });
    }
    const sortedRoundMs = [...bridgeRoundMs].sort((a, b) => a - b);
    console.log(
      `BENCH ${JSON.stringify({
        suite: "search",
        provider: "opensearch",
        measurement: "bulk_index",
        ops: documents.length,
        rounds: ROUNDS,
        bridge_ops_per_s: Math.round(median(bridgeRates)),
        raw_ops_per_s: Math.round(median(rawRates)),
        ratio_vs_raw: round2(median(ratios)),
        p50_ms: round2(percentile(sortedRoundMs, 50)),
        p99_ms: round2(percentile(sortedRoundMs, 99)),
        rss_mb: Math.round(process.memoryUsage().rss / 1_048_576),
      })}`,
    );

    // 2. Queries, on one copy of the catalogue in each engine
    const embedded = createMemorySearch();
    const rawIndex = `${prefix}.raw-query`;
    await client.indices.create({ index: rawIndex, body: rawIndexBody });
    await client.helpers.bulk({ datasource: base, onDocument: (document) => ({ index: { _index: rawIndex, _id: document.id } }), refreshOnCompletion: true });
    await runWithTenant("query", async () => {
      await search.ensureIndex(PRODUCTS);
      await search.bulkIndex("products", base);
      await search.refresh("products");
      await embedded.ensureIndex(PRODUCTS);
      await embedded.bulkIndex("products", base);
    });

    // The same index read with OpenSearch's own BM25 instead of the embedded search's formula.
    const bm25Integration = opensearch({ node: NODE, replicas: 0, indexPrefix: prefix, scoring: "bm25" });
    await bm25Integration.start({ logger: silent });
    const bm25Search = bm25Integration.modules.search;

    const latencies = { bridge: [], raw: [], peer: [], bm25: [] };
    const paths = {
      bridge: (query) => runWithTenant("query", () => search.search({ index: "products", ...query, facets: ["brand", "category"], pageSize: 10 })),
      bm25: (query) => runWithTenant("query", () => bm25Search.search({ index: "products", ...query, facets: ["brand", "category"], pageSize: 10 })),
      raw: (query) => client.search({ index: rawIndex, body: rawBody(query) }),
      peer: (query) => runWithTenant("query", () => embedded.search({ index: "products", ...query, facets: ["brand", "category"], pageSize: 10 })),
    };
    // One untimed pass per path warms caches and the JIT.
    for (const run of Object.values(paths)) for (const query of QUERIES) await run(query);
    for (let pass = 0; pass < QUERY_PASSES; pass++) {
      for (const name of pass % 2 === 0 ? ["bridge", "raw", "peer", "bm25"] : ["bm25", "peer", "raw", "bridge"]) {
        for (const query of QUERIES) {
          const started = performance.now();
          await paths[name](query);
          latencies[name].push(performance.now() - started);
        }
      }
    }
    const summary = Object.fromEntries(
      Object.entries(latencies).map(([name, values]) => {
        const sorted = [...values].sort((a, b) => a - b);
        const total = values.reduce((sum, value) => sum + value, 0);
        return [name, { opsPerSecond: values.length / (total / 1000), p50: percentile(sorted, 50), p99: percentile(sorted, 99) }];
      }),
    );
    await bm25Integration.stop({ deadlineMs: 1_000 });
    console.log(
      `BENCH ${JSON.stringify({
        suite: "search",
        provider: "opensearch",
        measurement: "query",
        ops: latencies.bridge.length,
        bridge_ops_per_s: Math.round(summary.bridge.opsPerSecond),
        raw_ops_per_s: Math.round(summary.raw.opsPerSecond),
        ratio_vs_raw: round2(summary.bridge.opsPerSecond / summary.raw.opsPerSecond),
        peer: "embedded",
        peer_ops_per_s: Math.round(summary.peer.opsPerSecond),
        ratio_vs_peer: round2(summary.bridge.opsPerSecond / summary.peer.opsPerSecond),
        p50_ms: round2(summary.bridge.p50),
        p99_ms: round2(summary.bridge.p99),
        raw_p50_ms: round2(summary.raw.p50),
        raw_p99_ms: round2(summary.raw.p99),
        peer_p50_ms: round2(summary.peer.p50),
        peer_p99_ms: round2(summary.peer.p99),
        bm25_ops_per_s: Math.round(summary.bm25.opsPerSecond),
        bm25_p50_ms: round2(summary.bm25.p50),
        bm25_p99_ms: round2(summary.bm25.p99),
        rss_mb: Math.round(process.memoryUsage().rss / 1_048_576),
      })}`,
    );
  } finally {
    await integration.stop({ deadlineMs: 1_000 });
    const rows = (await client.cat.indices({ index: `${prefix}.*`, format: "json", h: "index" })).body;
    if (rows.length > 0) await client.indices.delete({ index: rows.map((row) => row.index).join(",") });
    await client.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
