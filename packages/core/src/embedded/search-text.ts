// Query terms, fuzziness and highlighting of the embedded search. Terms come
// from Orama's own tokenizer so that queries, highlights and the index split
// text the same way.
import { components, internals, type Tokenizer } from "@orama/orama";

const baseTokenizer = components.tokenizer.createTokenizer({ language: "english" });

/**
 * Orama's English tokenizer without its normalization cache. The cache keeps
 * every token it has seen, so arbitrary query text would grow it without bound.
 */
export const tokenizer: Tokenizer = {
  language: baseTokenizer.language,
  normalizationCache: new Map(),
  tokenize: (raw: string, language?: string, prop?: string) => baseTokenizer.tokenize(raw, language, prop, false),
};

/** Characters that Orama's English tokenizer keeps inside a token (after lowercasing). */
const WORD_CHARACTER = /^[a-zàèéìòóù0-9_'-]+$/;

/** One term of the query with the number of edits it may match with. */
export interface QueryTerm {
  term: string;
  /** 0 means the indexed word must equal the term (or start with it, under `prefix`). */
  tolerance: number;
  /** Whether any word that starts with the term matches, as in autocomplete. */
  prefix: boolean;
}

/**
 * Edit distance for one term under `fuzzy: true`, the same rule as
 * OpenSearch's `fuzziness: AUTO` (AUTO:3,6): terms of 1-2 characters must match
 * exactly, 3-5 characters allow 1 edit, longer terms allow 2. Unlike
 * OpenSearch, Orama counts a transposition ("teh" for "the") as 2 edits.
 */
export function autoFuzziness(term: string): number {
  const length = Array.from(term).length;
  if (length <= 2) return 0;
  if (length <= 5) return 1;
  return 2;
}

/** Splits user text into distinct terms, each with its edit distance. */
export function queryTerms(text: string, fuzzy: boolean | number | undefined): QueryTerm[] {
  const terms = [...new Set(tokenizer.tokenize(text))];
  return terms.map((term) => {
    let tolerance = 0;
    if (fuzzy === true) tolerance = autoFuzziness(term);
    else if (typeof fuzzy === "number") tolerance = fuzzy;
    return { term, tolerance, prefix: false };
  });
}

/** Splits typed text into distinct terms that match any word starting with them. */
export function prefixTerms(text: string): QueryTerm[] {
  return [...new Set(tokenizer.tokenize(text))].map((term) => ({ term, tolerance: 0, prefix: true }));
}

/**
 * Tells whether an indexed word matches a query term the way Orama's radix
 * tree does: equal when the tolerance is 0, otherwise within the edit
 * distance or starting with the term. Prefix terms also match any word that
 * starts with them.
 */
export function wordMatches(word: string, query: QueryTerm): boolean {
  if (query.prefix && word.startsWith(query.term)) return true;
  if (query.tolerance === 0) return word === query.term;
  return internals.boundedLevenshtein(query.term, word, query.tolerance).isBounded;
}

interface WordSpan {
  start: number;
  end: number;
  token: string;
}

/** Positions of the words of `text` with their normalized tokens, as Orama would index them. */
export function wordSpans(text: string): WordSpan[] {
  const spans: WordSpan[] = [];
  let start = -1;
  const close = (end: number): void => {
    if (start < 0) return;
    const [token] = tokenizer.tokenize(text.slice(start, end));
    if (token !== undefined) spans.push({ start, end, token });
    start = -1;
  };
  // Per character, because lowercasing may change the length of the whole string.
  for (let i = 0; i < text.length; i++) {
    const isWord = WORD_CHARACTER.test(text[i]!.toLowerCase());
    if (isWord && start < 0) start = i;
    if (!isWord) close(i);
  }
  close(text.length);
  return spans;
}

/** Text around one match in a long value, in characters on each side. */
const FRAGMENT_CONTEXT = 60;
/** Values up to this length are returned whole. */
const WHOLE_VALUE_LENGTH = 200;
/** At most this many fragments per field, the OpenSearch default. */
const MAX_FRAGMENTS = 5;

/**
 * Marks the words of `text` that match a query term with `<em>` and returns
 * HTML fragments, with the rest of the text HTML-escaped. Returns [] when no
 * word matches.
 */
export function highlightValue(text: string, terms: QueryTerm[]): string[] {
  const matches = wordSpans(text).filter((span) => terms.some((term) => wordMatches(span.token, term)));
  if (matches.length === 0) return [];
  if (text.length <= WHOLE_VALUE_LENGTH) return [markRange(text, 0, text.length, matches)];

  const windows: Array<{ start: number; end: number }> = [];
  for (const match of matches) {
    const start = wordBoundaryBefore(text, Math.max(0, match.start - FRAGMENT_CONTEXT), match.start);
    const end = wordBoundaryAfter(text, Math.min(text.length, match.end + FRAGMENT_CONTEXT), match.end);
    const previous = windows[windows.length - 1];
    if (previous && start <= previous.end) {
      previous.end = Math.max(previous.end, end);
    } else {
      windows.push({ start, end });
    }
  }
  return windows.slice(0, MAX_FRAGMENTS).map((window) => markRange(text, window.start, window.end, matches).trim());
}

function markRange(text: string, start: number, end: number, matches: WordSpan[]): string {
  let html = "";
  let position = start;
  for (const match of matches) {
    if (match.start < start || match.end > end) continue;
    html += escapeHtml(text.slice(position, match.start)) + "<em>" + escapeHtml(text.slice(match.start, match.end)) + "</em>";
    position = match.end;
  }
  return html + escapeHtml(text.slice(position, end));
}

/** Moves a fragment start forward to the next word, but never past `limit`. */
function wordBoundaryBefore(text: string, index: number, limit: number): number {
  if (index === 0) return 0;
  const space = text.indexOf(" ", index);
  return space < 0 || space + 1 > limit ? index : space + 1;
}

/** Moves a fragment end back to the previous word, but never before `limit`. */
function wordBoundaryAfter(text: string, index: number, limit: number): number {
  if (index >= text.length) return text.length;
  const space = text.lastIndexOf(" ", index);
  return space < limit ? index : space;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ENTITIES[character] ?? character);
}

const HTML_ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
