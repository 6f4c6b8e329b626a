// Words of user text, split the way the `bridge_text` analyzer of every index
// splits them, which is also how the embedded Orama search splits them. The
// Orama 3.1 English tokenizer lowercases, splits on anything but letters a-z
// and àèéìòóù, digits, "_", "'" and "-", and removes accents. It has no
// stemming and no stop words. The same words then match in both engines.

/**
 * Pattern of the `bridge_words` tokenizer, in Java syntax. With the
 * CASE_INSENSITIVE and UNICODE_CASE flags it keeps what Orama keeps after
 * lowercasing the text.
 */
export const WORD_SEPARATOR_PATTERN = "[^a-z0-9_'\\-àèéìòóù]+";

const WORD_SEPARATOR = /[^a-z0-9_'\-àèéìòóù]+/;
const ACCENTS: Record<string, string> = { à: "a", è: "e", é: "e", ì: "i", ò: "o", ó: "o", ù: "u" };

/** Splits text into lower-case words without accents, in order, repeats included. */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(WORD_SEPARATOR)
    .filter((word) => word !== "")
    .map((word) => word.replace(/[àèéìòóù]/g, (accented) => ACCENTS[accented] ?? accented));
}

/** Returns the distinct words of user text, in order of first appearance. */
export function distinctWords(text: string): string[] {
  return [...new Set(words(text))];
}
