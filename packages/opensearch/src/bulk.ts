// Sends one chunk of a bulk index. Items that OpenSearch rejects with 429
// (write queue full) are sent again with backoff under the retry policy;
// items rejected for any other reason are reported with the server's reason.
import type { BulkIndexResult, ResiliencePolicy } from "@bridge/core";
import { describeServerError, type ServerError } from "./server-errors.js";

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
 * the response body; `policy` decides how often and when a rejected request
 * or a 429 item is tried again.
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
