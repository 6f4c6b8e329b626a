import { ConfigError } from "@bridge/core";

export const PACKAGE_NAME = "@bridge/opensearch";
export const INTEGRATION_NAME = "opensearch";

/** Options of `opensearch()`. Every field is optional; the default sits next to each. */
export interface OpenSearchOptions {
  /** Integration name, as used in `roles` and `bridge.integrations.<name>`. Default `"opensearch"`. */
  name?: string;
  /** Node URL, or several, such as `http://127.0.0.1:9200`. Wins over `host`, `port` and `protocol`. */
  node?: string | string[];
  /** Host when `node` is absent. Default `"127.0.0.1"`. */
  host?: string;
  /** HTTP port when `node` is absent. Default 9200. */
  port?: number;
  /** `"http"` or `"https"` when `node` is absent. Default `"http"`. */
  protocol?: "http" | "https";
  /** Basic authentication; give both or neither. The password is never logged or put in an error message. */
  auth?: { username: string; password: string };
  /** Start of every index and alias name this integration creates, before the tenant. Default `"bridge"`. */
  indexPrefix?: string;
  /** Server name of the logical index `products`. Default `"products"`. */
  productIndex?: string;
  /** Server name of the logical index `warehouses` (stock locations). Default `"warehouses"`. */
  inventoryIndex?: string;
  /** Primary shards of each index created. Default 1. */
  shards?: number;
  /** Replicas of each shard. Default 1, as a production cluster has; a single node needs 0 to be green. */
  replicas?: number;
  /** How often writes become visible to search, such as `"1s"`, or `"-1"` for only on `refresh()`. Default `"1s"`. */
  refreshInterval?: string;
  /**
   * Ranking formula of full-text hits. `"embedded"` is the embedded search's
   * formula, so both providers rank alike. `"bm25"` is OpenSearch's own BM25,
   * which is faster on large indexes. Default `"embedded"`.
   */
  scoring?: Scoring;
  /**
   * When writes become visible to search. `true`: when `index`, `delete` or
   * `bulkIndex` returns, as in the embedded search (a refresh per single write,
   * one per bulk call). `"wait_for"`: calls wait for the next periodic
   * refresh. `false`: after the refresh interval or `refresh()`, the fastest
   * for large imports. Default `true`.
   */
  writeRefresh?: WriteRefresh;
  /** Largest `pageSize` of a search and `limit` of an autocomplete. Default 100. */
  maxResults?: number;
  /** Time limit of a search on the server and of its HTTP request, in ms. Default 5,000. */
  searchTimeoutMs?: number;
  /** Time limit of other requests (bulk, index management), in ms. Default 30,000. */
  requestTimeoutMs?: number;
  /** Documents per bulk request. Default 500. */
  bulkSize?: number;
  /** Bulk requests of one `bulkIndex` in flight at once. Default 2. */
  bulkConcurrency?: number;
  /** Retries of a request rejected with 429 or 503, or that could not reach the node. Default 5. */
  retries?: number;
  /** Delay before the first retry, in ms; it doubles with jitter up to `retryMaxDelayMs`. Default 100. */
  retryInitialDelayMs?: number;
  /** Default 5,000. */
  retryMaxDelayMs?: number;
}

export type Scoring = "embedded" | "bm25";
export type WriteRefresh = boolean | "wait_for";

export interface ResolvedOptions {
  name: string;
  scoring: Scoring;
  writeRefresh: WriteRefresh;
  nodes: string[];
  /** Node URLs with any password replaced by `****`, for logs and errors. */
  maskedNodes: string[];
  auth: { username: string; password: string } | undefined;
  indexPrefix: string;
  productIndex: string;
  inventoryIndex: string;
  shards: number;
  replicas: number;
  refreshInterval: string;
  maxResults: number;
  searchTimeoutMs: number;
  requestTimeoutMs: number;
  bulkSize: number;
  bulkConcurrency: number;
  retries: number;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
}

/** Lower-case letters, digits, "_" and "-", starting with a letter or digit: valid in every OpenSearch index name. */
export const NAME_PART = /^[a-z0-9][a-z0-9_-]*$/;
/** A refresh interval as OpenSearch takes it: a number with a time unit, or -1 to turn periodic refresh off. */
export const REFRESH_INTERVAL = /^(-1|\d+(ms|s|m|h|d))$/;
/** OpenSearch's default `index.max_result_window`. */
export const MAX_RESULT_WINDOW = 10_000;

/** Builds the error every option check of this package throws: the package, the option, the value and the fix. */
export function optionError(option: string, value: unknown, expected: string): ConfigError {
  return new ConfigError([{ variable: `${PACKAGE_NAME} option ${option}`, value: describeOption(option, value), message: expected }], {
    role: "search",
    integration: INTEGRATION_NAME,
  });
}

/** Replaces the password of a URL with `****`. */
export function maskUrl(url: string): string {
  return url.replace(/(\/\/[^:/@\s]*:)[^@\s]*@/g, "$1****@");
}

function describeOption(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (/password|auth/i.test(option)) return "****";
  if (typeof value === "string") return maskUrl(value);
  return maskUrl(JSON.stringify(value) ?? String(value));
}

function wholeNumber(option: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw optionError(option, value, `expected a whole number from ${min} to ${max}`);
  }
  return value;
}

function namePart(option: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !NAME_PART.test(value) || value.length > 64) {
    throw optionError(option, value, 'expected 1-64 lower-case letters, digits, "_" or "-", starting with a letter or digit');
  }
  return value;
}

/** Checks the options and fills in every default. Throws a CONFIG_INVALID error that names the first bad option. */
export function resolveOptions(options: OpenSearchOptions = {}): ResolvedOptions {
  const nodes = resolveNodes(options);
  const auth = options.auth;
  if (auth !== undefined && (typeof auth.username !== "string" || auth.username === "" || typeof auth.password !== "string")) {
    throw optionError("auth", auth, "expected { username, password } with a non-empty username");
  }

  const refreshInterval = options.refreshInterval ?? "1s";
  if (typeof refreshInterval !== "string" || !REFRESH_INTERVAL.test(refreshInterval)) {
    throw optionError("refreshInterval", refreshInterval, 'expected a time such as "1s", "500ms" or "30s", or "-1" to refresh only when asked');
  }

  const scoring = options.scoring ?? "embedded";
  if (scoring !== "embedded" && scoring !== "bm25") throw optionError("scoring", scoring, 'expected "embedded" or "bm25"');

  const writeRefresh = options.writeRefresh ?? true;
  if (writeRefresh !== true && writeRefresh !== false && writeRefresh !== "wait_for") {
    throw optionError("writeRefresh", writeRefresh, 'expected true, false or "wait_for"');
  }
  if (writeRefresh === "wait_for" && refreshInterval === "-1") {
    throw optionError("writeRefresh", writeRefresh, 'expected true or false while refreshInterval is "-1": with no periodic refresh, "wait_for" would wait forever');
  }

  return {
    name: options.name ?? INTEGRATION_NAME,
    scoring,
    writeRefresh,
    nodes,
    maskedNodes: nodes.map(maskUrl),
    auth,
    indexPrefix: namePart("indexPrefix", options.indexPrefix, "bridge"),
    productIndex: namePart("productIndex", options.productIndex, "products"),
    inventoryIndex: namePart("inventoryIndex", options.inventoryIndex, "warehouses"),
    shards: wholeNumber("shards", options.shards, 1, 1, 1024),
    replicas: wholeNumber("replicas", options.replicas, 1, 0, 16),
    refreshInterval,
    maxResults: wholeNumber("maxResults", options.maxResults, 100, 1, MAX_RESULT_WINDOW - 1),
    searchTimeoutMs: wholeNumber("searchTimeoutMs", options.searchTimeoutMs, 5_000, 1, 600_000),
    requestTimeoutMs: wholeNumber("requestTimeoutMs", options.requestTimeoutMs, 30_000, 1, 600_000),
    bulkSize: wholeNumber("bulkSize", options.bulkSize, 500, 1, 10_000),
    bulkConcurrency: wholeNumber("bulkConcurrency", options.bulkConcurrency, 2, 1, 16),
    retries: wholeNumber("retries", options.retries, 5, 0, 20),
    retryInitialDelayMs: wholeNumber("retryInitialDelayMs", options.retryInitialDelayMs, 100, 0, 60_000),
    retryMaxDelayMs: wholeNumber("retryMaxDelayMs", options.retryMaxDelayMs, 5_000, 0, 600_000),
  };
}

function resolveNodes(options: OpenSearchOptions): string[] {
  if (options.node !== undefined) {
    const list = Array.isArray(options.node) ? options.node : [options.node];
    if (list.length === 0) throw optionError("node", options.node, "expected at least one node URL such as http://127.0.0.1:9200");
    for (const node of list) checkNodeUrl("node", node);
    return list.map((node) => node.trim());
  }

  const protocol = options.protocol ?? "http";
  if (protocol !== "http" && protocol !== "https") throw optionError("protocol", protocol, 'expected "http" or "https"');
  const host = options.host ?? "127.0.0.1";
  if (typeof host !== "string" || host.trim() === "" || /[\s/@]/.test(host)) {
    throw optionError("host", host, "expected a host name or IP address such as 127.0.0.1");
  }
  const port = wholeNumber("port", options.port, 9200, 1, 65_535);
  const hostPart = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return [`${protocol}://${hostPart}:${port}`];
}

function checkNodeUrl(option: string, node: unknown): void {
  let parsed: URL;
  try {
    parsed = new URL(String(node).trim());
  } catch {
    throw optionError(option, node, "expected a node URL such as http://127.0.0.1:9200");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw optionError(option, node, "expected the http:// or https:// scheme");
  }
}
