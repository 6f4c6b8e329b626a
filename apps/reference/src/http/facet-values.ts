import type { FacetValue, SearchFilter, SearchRole } from "@bridge/core";
import { PRODUCTS_INDEX } from "../catalog/search-documents.js";
import { searchOrEmpty } from "./search-helpers.js";

/** Keyword fields of the products index that the search API filters and facets on. */
export type FacetField = "brand" | "category";

/**
 * Maximum distinct values read per field when matching a filter value. The
 * bundled data has 257 brands (some spelled two ways, such as OtterBox and
 * Otterbox) and 61 categories.
 * NOTE: a value outside the 10,000 most frequent of its field is matched exactly, with case.
 */
const LOOKUP_FACET_SIZE = 10_000;

/** All spellings of one value that differ only in case, with the most frequent one as the canonical value. */
export interface ValueSpellings {
  canonical: string;
  spellings: string[];
  count: number;
}

/** Returns the key under which spellings that differ only in case meet. */
export function caseKey(value: string): string {
  return value.trim().toLowerCase();
}

/**
 * Case-insensitive view of the brand and category values stored in the
 * current tenant's products index, read with one facet-only search. Core's
 * keyword filters stay exact: the app turns a value into the list of stored
 * spellings and filters on those.
 */
export class FacetValueLookup {
  private loaded: Promise<Map<FacetField, Map<string, ValueSpellings>>> | undefined;

  constructor(private readonly search: SearchRole) {}

  /** Finds the stored spellings of `value`, or returns undefined when the index has none. */
  async find(field: FacetField, value: string): Promise<ValueSpellings | undefined> {
    const values = await this.load();
    return values.get(field)?.get(caseKey(value));
  }

  /**
   * Builds the keyword filter for a requested value: every stored spelling
   * of it, or the value as given when none is stored (which matches
   * nothing, as an unknown brand should). Also returns the value to report back.
   */
  async filter(field: FacetField, value: string): Promise<{ filter: SearchFilter; applied: string }> {
    const match = await this.find(field, value);
    if (match === undefined) return { filter: { field, eq: value }, applied: value };
    if (match.spellings.length === 1) return { filter: { field, eq: match.canonical }, applied: match.canonical };
    return { filter: { field, in: match.spellings }, applied: match.canonical };
  }

  /**
   * Merges facet counts of spellings that differ only in case under their
   * canonical value, so that each facet's count equals the hits its value
   * returns as a filter. The stored values are read only when a merge is needed.
   */
  async mergeFacet(field: FacetField, facet: readonly FacetValue[]): Promise<FacetValue[]> {
    const keys = new Set(facet.map((entry) => caseKey(entry.value)));
    if (keys.size === facet.length) return [...facet];

    const merged = new Map<string, FacetValue>();
    for (const entry of facet) {
      const key = caseKey(entry.value);
      const existing = merged.get(key);
      if (existing === undefined) {
        const canonical = (await this.find(field, entry.value))?.canonical ?? entry.value;
        merged.set(key, { value: canonical, count: entry.count });
      } else {
        existing.count += entry.count;
      }
    }
    return [...merged.values()].sort((a, b) => b.count - a.count || compareStrings(a.value, b.value));
  }

  private load(): Promise<Map<FacetField, Map<string, ValueSpellings>>> {
    this.loaded ??= this.read();
    return this.loaded;
  }

  private async read(): Promise<Map<FacetField, Map<string, ValueSpellings>>> {
    const fields: FacetField[] = ["brand", "category"];
    const result = await searchOrEmpty(this.search, { index: PRODUCTS_INDEX, facets: fields, facetSize: LOOKUP_FACET_SIZE, pageSize: 0 });

    const values = new Map<FacetField, Map<string, ValueSpellings>>();
    for (const field of fields) {
      const byKey = new Map<string, ValueSpellings>();
      // The canonical spelling is the most frequent one, and a tie goes to the first in code-point order whatever order the provider returns.
      const facet = [...(result.facets[field] ?? [])].sort((a, b) => b.count - a.count || compareStrings(a.value, b.value));
      for (const entry of facet) {
        if (entry.value === "") continue;
        const key = caseKey(entry.value);
        const existing = byKey.get(key);
        if (existing === undefined) {
          byKey.set(key, { canonical: entry.value, spellings: [entry.value], count: entry.count });
        } else {
          existing.spellings.push(entry.value);
          existing.count += entry.count;
        }
      }
      values.set(field, byKey);
    }
    return values;
  }
}

function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
