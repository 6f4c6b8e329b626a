// Bulk indexing in chunks of `bulkSize` documents, `bulkConcurrency` chunks
// in flight. Items that OpenSearch rejects with 429 (write queue full) are
// sent again with backoff under the retry policy. Items rejected for any
// other reason are reported with the server's reason.
import { currentTenantId, type BulkIndexResult, type ResiliencePolicy } from "@bridge/core";
import type { OpenSearchConnection } from "./connection.js";
import { checkSchemaOf, prepareDocument, serializeSource } from "./documents.js";
import type { IndexState } from "./indexes.js";
import { describeServerError, type ServerError } from "./server-errors.js";

/** Failures logged one by one after a bulk; the rest are only counted. */
const FAILURES_LOGGED = 3;

export interface BulkItem {
  /** Position of the document in the caller's array. */
  position: number;
  id: string;
  /** Action line and source line of the NDJSON body, each ending with a newline. */
  lines: string;
}

export interface BulkResponseBody {
  errors?: boolean;
  items?: Array<Record<string, { _id?: string; status?: number; error?: ServerError }>>;
}

/** Thrown inside the retry policy when some items came back with 429, so the policy sends them again. */
export class ItemsRejectedError extends Error {
  constructor(readonly count: number) {
    super(`${count} bulk item(s) were rejected with HTTP 429 (write queue full)`);
    this.name = "ItemsRejectedError";
  }
}

export interface ChunkResult {
  indexed: number;
  failed: BulkIndexResult["failed"];
}

/**
 * Indexes the items of one chunk. `send` posts an NDJSON body and returns
 * the response body. `policy` decides how often and when a rejected request
 * or a 429 item is sent again.
 */
export async function indexChunk(items: BulkItem[], send: (body: string) => Promise<BulkResponseBody>, policy: ResiliencePolicy): Promise<ChunkResult> {
  const result: ChunkResult = { indexed: 0, failed: [] };
  let pending = items;
  let lastRejection: string | undefined;

  try {
    await policy.execute(async () => {
      const response = await send(pending.map((item) => item.lines).join(""));
      const responseItems = response.items ?? [];
      const retry: BulkItem[] = [];

      pending.forEach((item, position) => {
        const outcome = Object.values(responseItems[position] ?? {})[0];
        const status = outcome?.status ?? 0;
        if (status >= 200 && status < 300) {
          result.indexed++;
        } else if (status === 429) {
          retry.push(item);
          lastRejection = outcome?.error === undefined ? "HTTP 429" : describeServerError(outcome.error);
        } else {
          const reason = outcome?.error === undefined ? `HTTP ${status || "status missing"}` : describeServerError(outcome.error);
          result.failed.push({ id: item.id, index: item.position, message: `document "${item.id}" was rejected by OpenSearch: ${reason}` });
        }
      });

      pending = retry;
      if (retry.length > 0) throw new ItemsRejectedError(retry.length);
    });
  } catch (error) {
    if (!(error instanceof ItemsRejectedError)) throw error;
    for (const item of pending) {
      result.failed.push({
        id: item.id,
        index: item.position,
        message: `document "${item.id}" was rejected by OpenSearch after every retry: ${lastRejection ?? "HTTP 429"}. The cluster is overloaded: index it again later, or lower OPENSEARCH_BULK_SIZE`,
      });
    }
  }

  return result;
}

export interface BulkTarget {
  /** Alias or concrete index the documents go to. */
  target: string;
  /** Makes writes fail, instead of creating an index, when the alias is gone. */
  requireAlias: boolean;
  documents: unknown[];
  onProgress?: (done: number, total: number) => void;
  /** Each request returns once a periodic refresh made its documents visible. */
  waitForRefresh?: boolean;
}

/**
 * Checks and indexes documents in chunks. A document that fails the checks
 * or that the server rejects is reported in `failed` with its position. A
 * request that still fails after every retry throws.
 */
export async function bulkIndexDocuments(connection: OpenSearchConnection, state: IndexState, bulk: BulkTarget): Promise<BulkIndexResult> {
  const { bulkSize, bulkConcurrency } = connection.options;
  const definition = state.meta.definition;
  const schema = checkSchemaOf(definition);
  const total = bulk.documents.length;
  const result: BulkIndexResult = { indexed: 0, failed: [] };
  const tenantId = currentTenantId();
  const client = connection.client;
  const send = async (body: string) =>
    (
      await client.bulk({
        body,
        ...(bulk.requireAlias ? { require_alias: true } : {}),
        ...(bulk.waitForRefresh ? { refresh: "wait_for" } : {}),
      } as never)
    ).body as BulkResponseBody;

  let done = 0;
  const indexChunkAt = async (start: number): Promise<void> => {
    const chunk = bulk.documents.slice(start, start + bulkSize);
    const items: BulkItem[] = [];
    chunk.forEach((document, offset) => {
      const position = start + offset;
      const prepared = prepareDocument(definition, schema, document);
      if (!prepared.ok) {
        result.failed.push({ id: prepared.id, index: position, message: prepared.message });
        return;
      }
      const serialized = serializeSource(prepared.id, prepared.source);
      if (!serialized.ok) {
        result.failed.push({ id: prepared.id, index: position, message: serialized.message });
        return;
      }
      const action = JSON.stringify({ index: { _index: bulk.target, _id: prepared.id } });
      items.push({ position, id: prepared.id, lines: `${action}\n${serialized.json}\n` });
    });

    if (items.length > 0) {
      let chunkResult: ChunkResult;
      try {
        chunkResult = await connection.track(indexChunk(items, send, connection.bulkPolicy));
      } catch (error) {
        throw connection.translate(error, `bulk index into search index "${state.index}" (documents ${start} to ${start + chunk.length - 1})`);
      }
      result.indexed += chunkResult.indexed;
      result.failed.push(...chunkResult.failed);
    }

    done += chunk.length;
    bulk.onProgress?.(done, total);
    // A bulk of several chunks logs its progress after each one.
    if (total > bulkSize) {
      connection.logger.info("bulk index progress", { index: state.index, tenantId, done, total, failed: result.failed.length });
    }
  };

  // Each lane takes the next chunk when it finishes one; the first failure stops the lanes from taking more.
  let next = 0;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < total) {
      const start = next;
      next += bulkSize;
      try {
        await indexChunkAt(start);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(bulkConcurrency, Math.ceil(total / bulkSize)) }, lane));
  if (failure !== undefined) throw failure;

  result.failed.sort((a, b) => a.index - b.index);
  for (const failed of result.failed.slice(0, FAILURES_LOGGED)) {
    connection.logger.warn("document not indexed", { index: state.index, tenantId, id: failed.id, position: failed.index, reason: failed.message });
  }
  return result;
}
