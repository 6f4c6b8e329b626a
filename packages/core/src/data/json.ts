// Plain JSON checks, copies and diffs shared by every data provider.

/** Keys that would reach an object's prototype when written by path or merged. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Describes the first part of `value` that is not plain JSON, or returns null
 * when all of it is. Keys starting with `$` are rejected too, because MongoDB
 * reads them as operators.
 */
export function describeNonJson(value: unknown, path = "value", depth = 0): string | null {
  if (depth > 32) return `${path} is nested more than 32 levels deep`;
  if (value === null || typeof value === "string" || typeof value === "boolean") return null;
  if (typeof value === "number") {
    return Number.isFinite(value) ? null : `${path} is ${String(value)}, which JSON cannot store`;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = describeNonJson(value[i], `${path}[${i}]`, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  if (isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key.startsWith("$")) return `${path} has the key "${key}", and keys may not start with "$"`;
      if (FORBIDDEN_KEYS.has(key)) return `${path} has the reserved key "${key}"`;
      const problem = describeNonJson(child, `${path}.${key}`, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  const kind = value instanceof Date ? "a Date (pass an ISO 8601 string)" : `a ${typeof value}`;
  return `${path} is ${kind}, which is not plain JSON`;
}

/** Deep copy used on the way into and out of a store, so callers never share objects with it. */
export function cloneRecord<T>(value: T): T {
  return structuredClone(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keysA = Object.keys(a).filter((key) => a[key] !== undefined);
    const keysB = Object.keys(b).filter((key) => b[key] !== undefined);
    return keysA.length === keysB.length && keysA.every((key) => deepEqual(a[key], b[key]));
  }
  return false;
}

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

/**
 * Lists field-level changes between two records as dot paths. Plain objects
 * are compared key by key; arrays and scalars are compared whole. A missing
 * value is reported as null, because JSON and MongoDB cannot store undefined.
 */
export function diffFields(before: unknown, after: unknown, path = ""): FieldChange[] {
  if (deepEqual(before, after)) return [];
  if (path !== "" && !(isPlainObject(before) && isPlainObject(after))) {
    return [{ field: path, from: before === undefined ? null : cloneRecord(before), to: after === undefined ? null : cloneRecord(after) }];
  }
  const left = isPlainObject(before) ? before : {};
  const right = isPlainObject(after) ? after : {};
  const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
  return keys.flatMap((key) => diffFields(left[key], right[key], path === "" ? key : `${path}.${key}`));
}

/** Renders a rejected value as short JSON for error messages, without throwing on cycles or functions. */
export function previewValue(value: unknown, max = 80): string {
  let text: string;
  if (typeof value === "function") text = "a function";
  else if (typeof value === "symbol" || typeof value === "bigint") text = `a ${typeof value}`;
  else if (value === undefined) text = "undefined";
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
