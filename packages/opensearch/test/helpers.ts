import { Client } from "@opensearch-project/opensearch";
import type { Logger } from "@bridge/core";
import { opensearch, type OpenSearchOptions } from "../src/index.js";

/** Same variable and default as the testkit's reachability check. */
export const OPENSEARCH_NODE = process.env.OPENSEARCH_NODE?.trim() || "http://127.0.0.1:9200";

/** Creates a logger that keeps each line as text, so tests can check what was logged. */
export function testLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
      lines.push(`${level} ${message} ${JSON.stringify({ ...bindings, ...fields }, (_, value: unknown) => (value instanceof Error ? value.message : value))}`);
    };
    return {
      trace: write("trace"),
      debug: write("debug"),
      info: write("info"),
      warn: write("warn"),
      error: write("error"),
      fatal: write("fatal"),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return { logger: make({}), lines };
}

/** Starts an integration on the local node with no replicas (a single node), under its own index prefix. */
export async function startIntegration(options: OpenSearchOptions & { indexPrefix: string }) {
  const integration = opensearch({ node: OPENSEARCH_NODE, replicas: 0, ...options });
  const { logger, lines } = testLogger();
  await integration.start({ logger });
  return { integration, search: integration.modules.search, lines };
}

/** Creates a client of its own, for checks that look at the server directly. */
export function rawClient(): Client {
  return new Client({ node: OPENSEARCH_NODE });
}

/** Deletes every index whose name starts with `<prefix>.`. */
export async function deleteIndexes(prefix: string): Promise<void> {
  const client = rawClient();
  try {
    const response = await client.cat.indices({ index: `${prefix}.*`, format: "json", h: "index", expand_wildcards: "all" } as never);
    const names = (response.body as unknown as Array<{ index: string }>).map((row) => row.index);
    if (names.length > 0) await client.indices.delete({ index: names.join(",") } as never);
  } finally {
    await client.close();
  }
}
