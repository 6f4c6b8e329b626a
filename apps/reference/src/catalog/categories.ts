import type { NewCategory } from "@bridge/core";
import { previewValue, type Rejection } from "./rejections.js";
import { slugify } from "./slug.js";

export interface CategoryMapping {
  /** Parents before children, so each batch can be written in order. */
  categories: NewCategory[];
  /** Records of the source file that were loaded. */
  fromFile: number;
  /** Ancestors named only in another record's path, added so every parent id exists. */
  derivedFromPaths: number;
  rejected: Rejection[];
  /** Index in the source file of each category loaded from it. */
  sourceIndexById: Map<string, number>;
}

interface PathNode {
  id: string;
  name: string;
}

/**
 * Maps the Best Buy category tree (records with `id`, `name` and a root-first
 * `path`) to datastore categories. The parent is the second-to-last path entry.
 */
export function mapCategories(records: readonly unknown[]): CategoryMapping {
  const byId = new Map<string, NewCategory>();
  const sourceIndexById = new Map<string, number>();
  const rejected: Rejection[] = [];

  records.forEach((record, index) => {
    const result = readCategory(record, index);
    if ("reason" in result) {
      rejected.push(result);
      return;
    }
    if (sourceIndexById.has(result.id)) {
      rejected.push({ index, reason: "duplicate-id", value: result.id, message: `category id "${result.id}" appears earlier in the file; the first record wins` });
      return;
    }
    sourceIndexById.set(result.id, index);

    // Every path entry becomes a category, so parents missing from the file still exist.
    result.path.forEach((node, depth) => {
      // The record's own entry replaces one taken from another record's path, never the other way round.
      const isSelf = depth === result.path.length - 1;
      if (!isSelf && byId.has(node.id)) return;
      byId.set(node.id, {
        id: node.id,
        name: isSelf ? result.name : node.name,
        parentId: depth === 0 ? null : (result.path[depth - 1]?.id ?? null),
        path: result.path.slice(0, depth + 1),
      });
    });
  });

  const categories = [...byId.values()].sort((a, b) => a.path.length - b.path.length);
  assignUniqueSlugs(categories);
  return { categories, fromFile: sourceIndexById.size, derivedFromPaths: categories.length - sourceIndexById.size, rejected, sourceIndexById };
}

function readCategory(record: unknown, index: number): { id: string; name: string; path: PathNode[] } | Rejection {
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    return { index, reason: "not-an-object", value: previewValue(record), message: "category record is not a JSON object" };
  }
  const { id, name, path } = record as Record<string, unknown>;
  if (typeof id !== "string" || id.trim() === "") {
    return { index, reason: "missing-id", value: previewValue(id), message: "category record has no string id" };
  }
  if (typeof name !== "string" || name.trim() === "") {
    return { index, reason: "missing-name", value: previewValue(name), message: `category "${id}" has no name` };
  }

  // A missing or malformed path makes the category a root; the tree stays usable.
  const nodes: PathNode[] = Array.isArray(path)
    ? path.filter((node): node is PathNode => typeof node?.id === "string" && typeof node?.name === "string").map((node) => ({ id: node.id, name: node.name }))
    : [];
  if (nodes.at(-1)?.id !== id) nodes.push({ id, name });
  return { id, name: name.trim(), path: nodes };
}

/** Sets unique slugs: the first category with a name gets the plain slug, and later ones with the same name get the id appended. */
function assignUniqueSlugs(categories: NewCategory[]): void {
  const taken = new Set<string>();
  for (const category of categories) {
    const base = slugify(category.name) || slugify(category.id);
    const slug = taken.has(base) ? `${base}-${slugify(category.id)}` : base;
    taken.add(slug);
    category.slug = slug;
  }
}

/** Category labels of a product matched to category ids. */
export interface ResolvedCategories {
  /** Ids of the matched labels, general to specific. */
  ids: string[];
  /** Labels with no category of that name in the tree. */
  unmatched: string[];
}

/**
 * Finds category ids for product labels by name. A name used by several
 * categories is resolved by the labels before it: the candidate whose parent
 * was the previous match wins, then the one sharing most ancestor names.
 */
export class CategoryIndex {
  private readonly byName = new Map<string, NewCategory[]>();

  constructor(categories: readonly NewCategory[]) {
    for (const category of categories) {
      const key = slugify(category.name);
      const list = this.byName.get(key);
      if (list === undefined) this.byName.set(key, [category]);
      else list.push(category);
    }
  }

  resolve(labels: readonly string[]): ResolvedCategories {
    const ids: string[] = [];
    const unmatched: string[] = [];
    let previousId: string | null = null;

    labels.forEach((label, position) => {
      const candidates = this.byName.get(slugify(label)) ?? [];
      const earlier = new Set(labels.slice(0, position).map(slugify));
      let best: NewCategory | undefined;
      let bestScore = -1;
      for (const candidate of candidates) {
        const ancestors = candidate.path.slice(0, -1);
        const shared = ancestors.filter((node) => earlier.has(slugify(node.name))).length;
        const score = (candidate.parentId !== null && candidate.parentId === previousId ? 100 : 0) + shared;
        if (score > bestScore) {
          best = candidate;
          bestScore = score;
        }
      }
      if (best === undefined) {
        unmatched.push(label);
        return;
      }
      if (!ids.includes(best.id)) ids.push(best.id);
      previousId = best.id;
    });
    return { ids, unmatched };
  }
}
