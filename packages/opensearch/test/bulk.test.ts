// The retry logic of one bulk chunk, with `send` standing in for the HTTP
// request so that 429s can be produced on demand. The real bulk path runs
// against OpenSearch in search.integration.test.ts.
import { createResiliencePolicy } from "@bridge/core";
import { errors } from "@opensearch-project/opensearch";
import { describe, expect, it } from "vitest";
import { indexChunk, ItemsRejectedError, type BulkItem, type BulkResponseBody } from "../src/bulk.js";

function items(count: number): BulkItem[] {
  return Array.from({ length: count }, (_, position) => ({ position: position + 10, id: `doc-${position}`, lines: `{"index":{"_id":"doc-${position}"}}\n{}\n` }));
}

function policy(retries: number) {
  return createResiliencePolicy({
    retries,
    backoff: { initialMs: 1, maxMs: 2 },
    isRetryable: (error) => error instanceof ItemsRejectedError || error instanceof errors.ConnectionError,
  });
}

/** Responds to each request with the statuses given for it, item by item. */
function server(statusesPerRequest: number[][]) {
  const bodies: string[] = [];
  const send = async (body: string): Promise<BulkResponseBody> => {
    const statuses = statusesPerRequest[bodies.length] ?? [];
    bodies.push(body);
    return {
      errors: statuses.some((status) => status >= 300),
      items: statuses.map((status) => ({
        index: { status, ...(status >= 300 ? { error: { type: status === 429 ? "es_rejected_execution_exception" : "mapper_parsing_exception", reason: `status ${status}` } } : {}) },
      })),
    };
  };
  return { send, bodies };
}

describe("indexChunk", () => {
  it("indexes every item of a clean response", async () => {
    const { send, bodies } = server([[201, 200, 201]]);
    const result = await indexChunk(items(3), send, policy(3));
    expect(result).toEqual({ indexed: 3, failed: [] });
    expect(bodies).toHaveLength(1);
  });

  it("sends only the items rejected with 429 again", async () => {
    const { send, bodies } = server([
      [201, 429, 201, 429],
      [201, 429],
      [201],
    ]);
    const result = await indexChunk(items(4), send, policy(5));
    expect(result).toEqual({ indexed: 4, failed: [] });
    expect(bodies).toHaveLength(3);
    expect(bodies[1]).toContain("doc-1");
    expect(bodies[1]).toContain("doc-3");
    expect(bodies[1]).not.toContain("doc-0");
    expect(bodies[2]).toContain("doc-3");
    expect(bodies[2]).not.toContain("doc-1");
  });

  it("reports items still rejected after every retry", async () => {
    const { send, bodies } = server([[201, 429], [429], [429]]);
    const result = await indexChunk(items(2), send, policy(2));
    expect(bodies).toHaveLength(3);
    expect(result.indexed).toBe(1);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]).toMatchObject({ id: "doc-1", index: 11 });
    expect(result.failed[0]?.message).toContain("es_rejected_execution_exception");
    expect(result.failed[0]?.message).toContain("OPENSEARCH_BULK_SIZE");
  });

  it("reports other rejections at once, with the server's reason", async () => {
    const { send, bodies } = server([[201, 400]]);
    const result = await indexChunk(items(2), send, policy(3));
    expect(bodies).toHaveLength(1);
    expect(result.failed).toEqual([{ id: "doc-1", index: 11, message: 'document "doc-1" was rejected by OpenSearch: mapper_parsing_exception: status 400' }]);
  });

  it("retries a request that did not reach the node", async () => {
    let calls = 0;
    const send = async (): Promise<BulkResponseBody> => {
      calls++;
      if (calls === 1) throw new errors.ConnectionError("connect ECONNREFUSED 127.0.0.1:9200");
      return { items: [{ index: { status: 201 } }] };
    };
    expect(await indexChunk(items(1), send, policy(2))).toEqual({ indexed: 1, failed: [] });
    expect(calls).toBe(2);
  });

  it("throws when the request keeps failing", async () => {
    const send = async (): Promise<BulkResponseBody> => {
      throw new errors.ConnectionError("connect ECONNREFUSED 127.0.0.1:9200");
    };
    await expect(indexChunk(items(1), send, policy(1))).rejects.toBeInstanceOf(errors.ConnectionError);
  });
});
