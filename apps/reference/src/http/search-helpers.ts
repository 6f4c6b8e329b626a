import { isBridgeError, type SearchQuery, type SearchResult, type SearchRole } from "@bridge/core";

/**
 * Runs a search, treating a missing index as an empty result: a tenant whose
 * catalogue was never imported has no index yet, and for a shopper that is
 * "no products", not an error.
 */
export async function searchOrEmpty<T>(search: SearchRole, query: SearchQuery): Promise<SearchResult<T>> {
  try {
    return await search.search<T>(query);
  } catch (error) {
    if (!isBridgeError(error, "NOT_FOUND")) throw error;
    return { total: 0, hits: [], facets: {}, page: query.page ?? 1, pageSize: query.pageSize ?? 20, nextSearchAfter: null };
  }
}

/** Autocomplete with the same rule: no index means no suggestions. */
export async function autocompleteOrEmpty(search: SearchRole, index: string, prefix: string, options: { limit: number }): Promise<string[]> {
  try {
    return await search.autocomplete(index, prefix, options);
  } catch (error) {
    if (!isBridgeError(error, "NOT_FOUND")) throw error;
    return [];
  }
}
