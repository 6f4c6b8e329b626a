/** Maximum slug length the importer writes. The datastore accepts 96 characters, and some slugs get an id appended. */
export const MAX_SLUG_LENGTH = 64;

/**
 * Builds a lower-case URL slug: accents dropped, `&` spelled out, every other
 * run of non-alphanumerics one dash. A long slug is cut at a dash when one is
 * near the limit, so words stay whole.
 */
export function slugify(text: string, maxLength = MAX_SLUG_LENGTH): string {
  const slug = text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/&/g, " and ")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (slug.length <= maxLength) return slug;

  const cut = slug.slice(0, maxLength);
  const lastDash = cut.lastIndexOf("-");
  return (lastDash > maxLength / 2 ? cut.slice(0, lastDash) : cut).replace(/-+$/, "");
}
