import { z } from "zod";
import { MAX_RESULT_WINDOW, NAME_PART, REFRESH_INTERVAL, type OpenSearchOptions } from "./options.js";

export const SECRET_VARIABLES = ["OPENSEARCH_AUTH_PASSWORD"] as const;

const whole = (min: number, max: number, what: string) =>
  z.coerce
    .number({ message: `expected ${what}` })
    .int(`expected ${what}`)
    .min(min, `expected ${what}`)
    .max(max, `expected ${what}`);

const indexName = z
  .string()
  .max(64, "expected at most 64 characters")
  .regex(NAME_PART, 'expected lower-case letters, digits, "_" or "-", starting with a letter or digit');

const DURATION = /^(\d+)(ms|s|m)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };

/** A time limit given as whole milliseconds ("5000") or with a unit ("5s", "500ms", "1m"). */
const duration = z
  .string()
  .trim()
  .regex(DURATION, 'expected whole milliseconds such as 5000, or a time with a unit such as "5s" or "500ms"')
  .transform((value) => {
    const [, amount, unit] = DURATION.exec(value)!;
    return Number(amount) * UNIT_MS[unit ?? "ms"]!;
  })
  .pipe(z.number().min(1, "expected a time above 0").max(600_000, "expected at most 10 minutes"));

const nodeList = z
  .string()
  .trim()
  .transform((value) => value.split(",").map((part) => part.trim()).filter(Boolean))
  .pipe(
    z
      .array(z.string().regex(/^https?:\/\/\S+$/, "expected node URLs such as http://127.0.0.1:9200, comma-separated"))
      .min(1, "expected at least one node URL such as http://127.0.0.1:9200"),
  );

/** Schema of the OpenSearch variables, with their defaults. Other variables pass through untouched. */
export const envSchema = z
  .object({
    OPENSEARCH_NODE: nodeList.optional(),
    OPENSEARCH_HOST: z.string().trim().min(1, "expected a host name or IP address").default("127.0.0.1"),
    OPENSEARCH_PORT: whole(1, 65_535, "a TCP port from 1 to 65535").default(9200),
    OPENSEARCH_PROTOCOL: z.enum(["http", "https"], { message: 'expected "http" or "https"' }).default("http"),
    OPENSEARCH_AUTH_USERNAME: z.string().min(1, "expected a user name").optional(),
    OPENSEARCH_AUTH_PASSWORD: z.string().optional(),
    OPENSEARCH_PRODUCT_INDEX: indexName.default("products"),
    OPENSEARCH_INVENTORY_INDEX: indexName.default("warehouses"),
    OPENSEARCH_INDEX_SHARDS: whole(1, 1024, "a whole number of shards from 1 to 1024").default(1),
    OPENSEARCH_INDEX_REPLICAS: whole(0, 16, "a whole number of replicas from 0 to 16 (0 on a single node)").default(1),
    OPENSEARCH_MAX_RESULTS: whole(1, MAX_RESULT_WINDOW - 1, `a whole number of hits from 1 to ${MAX_RESULT_WINDOW - 1}`).default(100),
    OPENSEARCH_SEARCH_TIMEOUT: duration.default("5s"),
    OPENSEARCH_BULK_SIZE: whole(1, 10_000, "a whole number of documents per bulk request from 1 to 10000").default(500),
    OPENSEARCH_REFRESH_INTERVAL: z
      .string()
      .trim()
      .regex(REFRESH_INTERVAL, 'expected a time such as "1s", "500ms" or "30s", or "-1" to refresh only when asked')
      .default("1s"),
    OPENSEARCH_INDEX_PREFIX: indexName.default("bridge"),
    OPENSEARCH_WRITE_REFRESH: z
      .enum(["true", "false", "wait_for"], { message: 'expected true (visible when the call returns), wait_for (at the next periodic refresh) or false (after the refresh interval)' })
      .default("true")
      .transform((value) => (value === "wait_for" ? "wait_for" : value === "true")),
    OPENSEARCH_SCORING: z.enum(["embedded", "bm25"], { message: 'expected "embedded" (rank like the embedded search) or "bm25" (OpenSearch\'s own ranking)' }).default("embedded"),
  })
  .passthrough()
  .superRefine((env, context) => {
    const hasUser = env.OPENSEARCH_AUTH_USERNAME !== undefined;
    const hasPassword = env.OPENSEARCH_AUTH_PASSWORD !== undefined;
    if (hasUser !== hasPassword) {
      context.addIssue({
        code: z.ZodIssueCode.custom,
        path: [hasUser ? "OPENSEARCH_AUTH_PASSWORD" : "OPENSEARCH_AUTH_USERNAME"],
        message: "required when the other of OPENSEARCH_AUTH_USERNAME and OPENSEARCH_AUTH_PASSWORD is set (user name and password go together)",
      });
    }
    if (env.OPENSEARCH_WRITE_REFRESH === "wait_for" && env.OPENSEARCH_REFRESH_INTERVAL === "-1") {
      context.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["OPENSEARCH_WRITE_REFRESH"],
        message: "expected true or false while OPENSEARCH_REFRESH_INTERVAL is -1: with no periodic refresh, wait_for would wait forever",
      });
    }
  });

export type OpenSearchEnv = z.output<typeof envSchema>;

/** Turns validated variables into options of `opensearch()`. */
export function optionsFromEnv(env: OpenSearchEnv): OpenSearchOptions {
  return {
    ...(env.OPENSEARCH_NODE !== undefined
      ? { node: env.OPENSEARCH_NODE }
      : { host: env.OPENSEARCH_HOST, port: env.OPENSEARCH_PORT, protocol: env.OPENSEARCH_PROTOCOL }),
    ...(env.OPENSEARCH_AUTH_USERNAME !== undefined && env.OPENSEARCH_AUTH_PASSWORD !== undefined
      ? { auth: { username: env.OPENSEARCH_AUTH_USERNAME, password: env.OPENSEARCH_AUTH_PASSWORD } }
      : {}),
    indexPrefix: env.OPENSEARCH_INDEX_PREFIX,
    productIndex: env.OPENSEARCH_PRODUCT_INDEX,
    inventoryIndex: env.OPENSEARCH_INVENTORY_INDEX,
    shards: env.OPENSEARCH_INDEX_SHARDS,
    replicas: env.OPENSEARCH_INDEX_REPLICAS,
    maxResults: env.OPENSEARCH_MAX_RESULTS,
    searchTimeoutMs: env.OPENSEARCH_SEARCH_TIMEOUT,
    bulkSize: env.OPENSEARCH_BULK_SIZE,
    refreshInterval: env.OPENSEARCH_REFRESH_INTERVAL,
    scoring: env.OPENSEARCH_SCORING,
    writeRefresh: env.OPENSEARCH_WRITE_REFRESH,
  };
}
