// Autocomplete: every typed word must start a word of the value, as in the
// embedded search. OpenSearch finds candidates through the edge n-grams of the
// autocomplete field, or prefix queries on another text field. The values are
// then checked and ranked here with the embedded search's rule.
import { AUTOCOMPLETE_SUBFIELD, DISTINCT_SUBFIELD, MAX_EDGE_NGRAM, NORMALIZED_SUBFIELD } from "./mappings.js";
import type { Scoring } from "./options.js";
import { words } from "./text.js";

/** Boost of "the value starts with the whole typed text", high enough to put those values first. */
const STARTS_WITH_BOOST = 1_000;
/** Candidates fetched per suggestion asked for, because several documents may share a value. */
const CANDIDATES_PER_SUGGESTION = 10;
const MIN_CANDIDATES = 50;
const MAX_CANDIDATES = 1_000;

/** Words that one typed word's prefix query scores at most; beyond this, ranking among its matches is approximate. */
const MAX_SCORED_EXPANSIONS = 512;

/**
 * Builds the candidate search for typed `terms` on `field`. `hasSubfields`
 * tells whether it is the indexed autocomplete field. Under `"embedded"`
 * scoring each word that starts with a typed word adds its own score, as in
 * the embedded search, through prefix queries on the distinct-word subfield.
 */
export function buildAutocompleteBody(
  field: string,
  hasSubfields: boolean,
  terms: string[],
  prefix: string,
  limit: number,
  searchTimeoutMs: number,
  scoring: Scoring,
): Record<string, unknown> {
  const matches = terms.map((term) =>
    hasSubfields
      ? // Typed words longer than the n-grams are cut to match them; suggestValues checks the whole word.
        { match: { [`${field}.${AUTOCOMPLETE_SUBFIELD}`]: { query: term.slice(0, MAX_EDGE_NGRAM) } } }
      : { prefix: { [field]: { value: term } } },
  );
  const scores =
    scoring === "embedded"
      ? terms.map((term) => ({ prefix: { [`${field}.${DISTINCT_SUBFIELD}`]: { value: term, rewrite: `top_terms_${MAX_SCORED_EXPANSIONS}` } } }))
      : [];
  const typed = prefix.trim().toLowerCase();
  const startsWith = hasSubfields && typed !== "" ? [{ constant_score: { filter: { prefix: { [`${field}.${NORMALIZED_SUBFIELD}`]: typed } }, boost: STARTS_WITH_BOOST } }] : [];

  const query =
    scoring === "embedded"
      ? { bool: { filter: matches, should: [...scores, ...startsWith] } }
      : { bool: { must: matches, should: startsWith } };
  return {
    query,
    size: Math.min(MAX_CANDIDATES, Math.max(MIN_CANDIDATES, limit * CANDIDATES_PER_SUGGESTION)),
    _source: [field],
    timeout: `${searchTimeoutMs}ms`,
  };
}

/**
 * Picks distinct values of `field` in which every typed term starts a word.
 * Values that start with the whole typed text come first, then higher
 * scores, then shorter values, then the lower one in code unit order.
 */
export function suggestValues(hits: Array<{ score: number; source: Record<string, unknown> | undefined }>, field: string, terms: string[], prefix: string, limit: number): string[] {
  const typed = prefix.trim().toLowerCase();
  const best = new Map<string, { startsWith: boolean; score: number }>();
  for (const hit of hits) {
    const raw = hit.source?.[field];
    const values = (Array.isArray(raw) ? raw : [raw]).filter((value): value is string => typeof value === "string");
    for (const value of values) {
      const valueWords = words(value);
      if (!terms.every((term) => valueWords.some((word) => word.startsWith(term)))) continue;
      const previous = best.get(value);
      if (previous === undefined || previous.score < hit.score) {
        best.set(value, { startsWith: value.toLowerCase().startsWith(typed), score: hit.score });
      }
    }
  }

  return [...best]
    .sort(([valueA, a], [valueB, b]) => {
      if (a.startsWith !== b.startsWith) return a.startsWith ? -1 : 1;
      if (a.score !== b.score) return b.score - a.score;
      if (valueA.length !== valueB.length) return valueA.length - valueB.length;
      if (valueA === valueB) return 0;
      return valueA < valueB ? -1 : 1;
    })
    .slice(0, limit)
    .map(([value]) => value);
}
