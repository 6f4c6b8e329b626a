import { ConfigError, createBridgeFromEnv, isBridgeError } from "@bridge/core";
import { describe, expect, it } from "vitest";
import * as opensearchPackage from "../src/index.js";
import { envSchema, opensearch, provider } from "../src/index.js";
import { resolveOptions } from "../src/options.js";

describe("resolveOptions", () => {
  it("fills in every default", () => {
    const resolved = resolveOptions();
    expect(resolved.nodes).toEqual(["http://127.0.0.1:9200"]);
    expect(resolved.indexPrefix).toBe("bridge");
    expect(resolved.productIndex).toBe("products");
    expect(resolved.inventoryIndex).toBe("warehouses");
    expect(resolved.shards).toBe(1);
    expect(resolved.replicas).toBe(1);
    expect(resolved.refreshInterval).toBe("1s");
    expect(resolved.maxResults).toBe(100);
    expect(resolved.searchTimeoutMs).toBe(5_000);
    expect(resolved.bulkSize).toBe(500);
    expect(resolved.scoring).toBe("embedded");
    expect(resolved.writeRefresh).toBe(true);
  });

  it("builds the node from host, port and protocol", () => {
    expect(resolveOptions({ host: "search.internal", port: 9201, protocol: "https" }).nodes).toEqual(["https://search.internal:9201"]);
    expect(resolveOptions({ host: "::1" }).nodes).toEqual(["http://[::1]:9200"]);
  });

  it("masks the password of a node URL", () => {
    const resolved = resolveOptions({ node: "https://admin:s3cret@search.internal:9200" });
    expect(resolved.maskedNodes).toEqual(["https://admin:****@search.internal:9200"]);
  });

  const BAD_OPTIONS: Array<[string, Parameters<typeof resolveOptions>[0], string]> = [
    ["node", { node: "search.internal:9200" }, "http://"],
    ["node", { node: "not a url" }, "node URL"],
    ["node", { node: "ftp://search.internal" }, "http://"],
    ["protocol", { protocol: "gopher" as "http" }, '"http" or "https"'],
    ["port", { port: 70_000 }, "1 to 65535"],
    ["indexPrefix", { indexPrefix: "Bridge" }, "lower-case"],
    ["indexPrefix", { indexPrefix: "_bridge" }, "starting with a letter or digit"],
    ["productIndex", { productIndex: "my products" }, "lower-case"],
    ["shards", { shards: 0 }, "1 to 1024"],
    ["replicas", { replicas: -1 }, "0 to 16"],
    ["refreshInterval", { refreshInterval: "soon" }, '"1s"'],
    ["maxResults", { maxResults: 10_000 }, "1 to 9999"],
    ["bulkSize", { bulkSize: 1.5 }, "whole number"],
    ["scoring", { scoring: "tf-idf" as "bm25" }, '"embedded" or "bm25"'],
    ["auth", { auth: { username: "", password: "x" } }, "non-empty username"],
    ["writeRefresh", { writeRefresh: "yes" as unknown as boolean }, '"wait_for"'],
    ["writeRefresh", { writeRefresh: "wait_for", refreshInterval: "-1" }, "wait forever"],
  ];

  for (const [option, options, expected] of BAD_OPTIONS) {
    it(`rejects a bad ${option} (${JSON.stringify(options)})`, () => {
      let caught: unknown;
      try {
        resolveOptions(options);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      const message = (caught as Error).message;
      expect(message).toContain(`@bridge/opensearch option ${option}`);
      expect(message).toContain(expected);
    });
  }

  it("never shows the password in an option error", () => {
    expect(() => resolveOptions({ auth: { username: "", password: "hunter2" } })).toThrow(/\*\*\*\*/);
    expect(() => resolveOptions({ auth: { username: "", password: "hunter2" } })).not.toThrow(/hunter2/);
  });
});

describe("opensearch()", () => {
  it("exposes the search module before start", () => {
    const integration = opensearch({ replicas: 0 });
    expect(integration.name).toBe("opensearch");
    expect(integration.roles).toEqual(["search"]);
    expect(typeof integration.modules.search.search).toBe("function");
    expect(integration.modules.search.capabilities.geoShapes).toBe(true);
  });
});

describe("envSchema", () => {
  it("applies defaults to an empty environment", () => {
    const parsed = envSchema.parse({});
    expect(parsed.OPENSEARCH_HOST).toBe("127.0.0.1");
    expect(parsed.OPENSEARCH_PORT).toBe(9200);
    expect(parsed.OPENSEARCH_INDEX_REPLICAS).toBe(1);
    expect(parsed.OPENSEARCH_SEARCH_TIMEOUT).toBe(5_000);
    expect(parsed.OPENSEARCH_REFRESH_INTERVAL).toBe("1s");
    expect(parsed.OPENSEARCH_WRITE_REFRESH).toBe(true);
    expect(envSchema.parse({ OPENSEARCH_WRITE_REFRESH: "false" }).OPENSEARCH_WRITE_REFRESH).toBe(false);
  });

  it("reads every variable", () => {
    const parsed = envSchema.parse({
      OPENSEARCH_NODE: "http://a:9200, http://b:9200",
      OPENSEARCH_AUTH_USERNAME: "bridge",
      OPENSEARCH_AUTH_PASSWORD: "pw",
      OPENSEARCH_PRODUCT_INDEX: "catalog",
      OPENSEARCH_INVENTORY_INDEX: "stock-locations",
      OPENSEARCH_INDEX_SHARDS: "3",
      OPENSEARCH_INDEX_REPLICAS: "0",
      OPENSEARCH_MAX_RESULTS: "250",
      OPENSEARCH_SEARCH_TIMEOUT: "750ms",
      OPENSEARCH_BULK_SIZE: "1000",
      OPENSEARCH_REFRESH_INTERVAL: "30s",
      OPENSEARCH_INDEX_PREFIX: "shop",
      OPENSEARCH_SCORING: "bm25",
      OPENSEARCH_WRITE_REFRESH: "wait_for",
    });
    expect(parsed.OPENSEARCH_WRITE_REFRESH).toBe("wait_for");
    expect(parsed.OPENSEARCH_NODE).toEqual(["http://a:9200", "http://b:9200"]);
    expect(parsed.OPENSEARCH_SEARCH_TIMEOUT).toBe(750);
    expect(parsed.OPENSEARCH_INDEX_SHARDS).toBe(3);

    const integration = provider.fromEnv(parsed);
    expect(integration.name).toBe("opensearch");
  });

  it("takes timeouts in seconds or minutes", () => {
    expect(envSchema.parse({ OPENSEARCH_SEARCH_TIMEOUT: "2s" }).OPENSEARCH_SEARCH_TIMEOUT).toBe(2_000);
    expect(envSchema.parse({ OPENSEARCH_SEARCH_TIMEOUT: "1m" }).OPENSEARCH_SEARCH_TIMEOUT).toBe(60_000);
    expect(envSchema.parse({ OPENSEARCH_SEARCH_TIMEOUT: "1500" }).OPENSEARCH_SEARCH_TIMEOUT).toBe(1_500);
  });

  it("lists every bad variable at once, with the password masked", async () => {
    const env = {
      BRIDGE_SEARCH: "opensearch",
      OPENSEARCH_NODE: "search.internal:9200",
      OPENSEARCH_PORT: "http",
      OPENSEARCH_AUTH_USERNAME: "",
      OPENSEARCH_AUTH_PASSWORD: "hunter2",
      OPENSEARCH_INDEX_REPLICAS: "-1",
      OPENSEARCH_SEARCH_TIMEOUT: "soon",
      OPENSEARCH_BULK_SIZE: "0",
      OPENSEARCH_INDEX_PREFIX: "Shop",
      OPENSEARCH_SCORING: "random",
      OPENSEARCH_WRITE_REFRESH: "always",
    };
    let caught: unknown;
    try {
      await createBridgeFromEnv(env, { loadProvider: async () => opensearchPackage });
    } catch (error) {
      caught = error;
    }
    expect(isBridgeError(caught, "CONFIG_INVALID")).toBe(true);
    const problems = (caught as ConfigError).problems;
    const variables = problems.map((problem) => problem.variable).sort();
    expect(variables).toEqual(
      [
        "OPENSEARCH_AUTH_USERNAME",
        "OPENSEARCH_BULK_SIZE",
        "OPENSEARCH_INDEX_PREFIX",
        "OPENSEARCH_INDEX_REPLICAS",
        "OPENSEARCH_NODE",
        "OPENSEARCH_PORT",
        "OPENSEARCH_SCORING",
        "OPENSEARCH_SEARCH_TIMEOUT",
        "OPENSEARCH_WRITE_REFRESH",
      ].sort(),
    );
    expect((caught as Error).message).not.toContain("hunter2");
    for (const problem of problems) expect(problem.message, `message for ${problem.variable}`).toMatch(/expected|required/);
  });

  it("rejects wait_for without a periodic refresh", () => {
    const parsed = envSchema.safeParse({ OPENSEARCH_WRITE_REFRESH: "wait_for", OPENSEARCH_REFRESH_INTERVAL: "-1" });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(["OPENSEARCH_WRITE_REFRESH"]);
  });

  it("needs user name and password together", async () => {
    const parsed = envSchema.safeParse({ OPENSEARCH_AUTH_PASSWORD: "hunter2" });
    expect(parsed.success).toBe(false);
    const issue = parsed.error?.issues[0];
    expect(issue?.path).toEqual(["OPENSEARCH_AUTH_USERNAME"]);
    expect(issue?.message).toContain("go together");
  });

  it("builds a bridge whose search role is OpenSearch", async () => {
    const bridge = await createBridgeFromEnv(
      { BRIDGE_SEARCH: "opensearch", OPENSEARCH_INDEX_REPLICAS: "0", BRIDGE_LOG_STDERR: "false" },
      { loadProvider: async () => opensearchPackage },
    );
    expect(bridge.providers.search).toEqual(["opensearch"]);
    expect(bridge.search.capabilities).toEqual(opensearchPackage.CAPABILITIES);
  });
});
