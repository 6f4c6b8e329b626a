// Applies translator configs (field mappings) to records, such as a catalog
// row from a commerce platform turned into a Bridge product.
import { NotFoundError, ValidationError } from "../errors.js";
import type { FieldMapping, TranslatorConfig } from "../roles/data/translator.js";
import { toMinorUnits } from "./decimal.js";
import type { ErrorContext } from "./filters.js";
import { FORBIDDEN_KEYS, cloneRecord, isPlainObject, previewValue } from "./json.js";
import { slugify } from "./slug.js";

/** The parts of a TranslatorConfig the runtime reads, so configs can also be declared in code. */
export type TranslatorDefinition = Pick<TranslatorConfig, "name" | "mappings" | "overrides">;

export interface TransformContext {
  mapping: FieldMapping;
  record: Record<string, unknown>;
}

/** A named transform; it throws to reject the value, and the runtime reports which field failed. */
export type Transform = (value: unknown, context: TransformContext) => unknown;

export type TransformRegistry = ReadonlyMap<string, Transform>;

function expectString(value: unknown, name: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  throw new TypeError(`${name} expects a string, got ${previewValue(value)}`);
}

/** Built-in transforms; `toMinorUnits` reads a major-unit amount ("19.99") and returns integer cents, rounding half-even. */
export const BUILT_IN_TRANSFORMS: TransformRegistry = new Map<string, Transform>([
  ["trim", (value) => expectString(value, "trim").trim()],
  ["lowercase", (value) => expectString(value, "lowercase").toLowerCase()],
  ["uppercase", (value) => expectString(value, "uppercase").toUpperCase()],
  ["toString", (value) => expectString(value, "toString")],
  ["slugify", (value) => slugify(expectString(value, "slugify"))],
  [
    "toNumber",
    (value) => {
      const number = typeof value === "number" ? value : Number(expectString(value, "toNumber").trim());
      if (!Number.isFinite(number) || (typeof value === "string" && value.trim() === "")) {
        throw new TypeError(`toNumber expects a numeric value, got ${previewValue(value)}`);
      }
      return number;
    },
  ],
  [
    "toInteger",
    (value) => {
      const number = typeof value === "number" ? value : Number(expectString(value, "toInteger").trim());
      if (!Number.isSafeInteger(number)) throw new TypeError(`toInteger expects a whole number, got ${previewValue(value)}`);
      return number;
    },
  ],
  [
    "toBoolean",
    (value) => {
      if (typeof value === "boolean") return value;
      const text = expectString(value, "toBoolean").trim().toLowerCase();
      if (["true", "yes", "1"].includes(text)) return true;
      if (["false", "no", "0"].includes(text)) return false;
      throw new TypeError(`toBoolean expects true/false, yes/no or 1/0, got ${previewValue(value)}`);
    },
  ],
  ["toMinorUnits", (value) => toMinorUnits(value, 2, "amount")],
  [
    "toArray",
    (value) => (Array.isArray(value) ? value : [value]),
  ],
]);

/** Reads a dot path; array segments are indexes such as `images.0.href`. Returns undefined when any step is missing. */
export function readPath(record: unknown, path: string): unknown {
  let current: unknown = record;
  for (const segment of path.split(".")) {
    if (FORBIDDEN_KEYS.has(segment)) return undefined;
    if (Array.isArray(current) && /^[0-9]+$/.test(segment)) current = current[Number(segment)];
    else if (isPlainObject(current) && Object.prototype.hasOwnProperty.call(current, segment)) current = current[segment];
    else return undefined;
  }
  return current;
}

/** Writes a dot path, creating plain objects on the way. Throws on `__proto__`, `constructor` or `prototype` segments. */
export function writePath(target: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split(".");
  if (segments.some((segment) => FORBIDDEN_KEYS.has(segment) || segment === "")) {
    throw new ValidationError(`Invalid target path "${path}": empty, __proto__, constructor and prototype segments are not allowed.`, {
      details: { path },
    });
  }
  let current = target;
  for (const segment of segments.slice(0, -1)) {
    const next = current[segment];
    if (isPlainObject(next)) {
      current = next;
    } else {
      const created: Record<string, unknown> = {};
      current[segment] = created;
      current = created;
    }
  }
  current[segments[segments.length - 1] as string] = value;
}

/**
 * Returns the mappings that apply under `override`. An override mapping
 * replaces the base mapping with the same target, and override mappings with
 * new targets are appended. An unknown or absent label uses the base
 * mappings, because most tenants have no override.
 */
export function effectiveMappings(definition: TranslatorDefinition, override?: string): FieldMapping[] {
  const replacements = override === undefined ? undefined : definition.overrides[override];
  if (!replacements || replacements.length === 0) return definition.mappings;
  const replacedTargets = new Set(replacements.map((mapping) => mapping.to));
  return [...definition.mappings.filter((mapping) => !replacedTargets.has(mapping.to)), ...replacements];
}

export interface ApplyOptions {
  /** Override label, such as a tenant or sales channel id. */
  override?: string;
  transforms?: TransformRegistry;
  context?: ErrorContext;
}

interface MappingProblem {
  from: string;
  to: string;
  problem: string;
}

/**
 * Builds the target record from `record` with the definition's mappings. A
 * missing or null source value takes the mapping's `default`. Problems are
 * collected and reported together in one ValidationError: a required value
 * that is still missing, an unknown transform, or a transform that throws.
 */
export function applyTranslator(
  definition: TranslatorDefinition,
  record: Record<string, unknown>,
  options: ApplyOptions = {},
): Record<string, unknown> {
  const context = options.context ?? {};
  const transforms = options.transforms ?? BUILT_IN_TRANSFORMS;
  if (!isPlainObject(record)) {
    throw new ValidationError(`Cannot translate ${previewValue(record)} with "${definition.name}": expected a plain object record.`, {
      ...context,
      details: { translator: definition.name },
    });
  }

  const output: Record<string, unknown> = {};
  const problems: MappingProblem[] = [];
  for (const mapping of effectiveMappings(definition, options.override)) {
    let value = readPath(record, mapping.from);
    if (value === undefined || value === null) value = mapping.default === undefined ? undefined : cloneRecord(mapping.default);
    if (value === undefined) {
      if (mapping.required) problems.push({ from: mapping.from, to: mapping.to, problem: "is required but missing and has no default" });
      continue;
    }

    if (mapping.transform !== undefined) {
      const transform = transforms.get(mapping.transform);
      if (!transform) {
        problems.push({
          from: mapping.from,
          to: mapping.to,
          problem: `names the unknown transform "${mapping.transform}" (registered: ${[...transforms.keys()].join(", ")})`,
        });
        continue;
      }
      try {
        value = transform(value, { mapping, record });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        problems.push({ from: mapping.from, to: mapping.to, problem: `failed transform "${mapping.transform}": ${reason}` });
        continue;
      }
    }

    writePath(output, mapping.to, value);
  }

  if (problems.length > 0) {
    const lines = problems.map((p) => `${p.from} → ${p.to} ${p.problem}`);
    throw new ValidationError(
      `Translator "${definition.name}" failed on ${problems.length} field(s): ${lines.join("; ")}. Fix the source record or the mapping.`,
      { ...context, details: { translator: definition.name, override: options.override, problems } },
    );
  }
  return output;
}

export interface TranslatorRegistryOptions {
  /** Extra transforms, added to the built-in ones; a name that exists replaces the built-in. */
  transforms?: Record<string, Transform>;
  /** Loads a stored config by name, such as `bridge.data.translators.get`. Used when no config is registered in code. */
  load?: (name: string) => Promise<TranslatorDefinition | null>;
  context?: ErrorContext;
}

export interface TranslateManyResult {
  records: Array<Record<string, unknown>>;
  failed: Array<{ index: number; code: string; message: string }>;
}

/** Runs translators by key: configs registered in code first, then those the `load` function finds. */
export class TranslatorRegistry {
  readonly #definitions = new Map<string, TranslatorDefinition>();
  readonly #transforms: Map<string, Transform>;
  readonly #load: TranslatorRegistryOptions["load"];
  readonly #context: ErrorContext;

  constructor(options: TranslatorRegistryOptions = {}) {
    this.#transforms = new Map([...BUILT_IN_TRANSFORMS, ...Object.entries(options.transforms ?? {})]);
    this.#load = options.load;
    this.#context = options.context ?? {};
  }

  register(definition: TranslatorDefinition): this {
    this.#definitions.set(definition.name, cloneRecord(definition));
    return this;
  }

  registerTransform(name: string, transform: Transform): this {
    this.#transforms.set(name, transform);
    return this;
  }

  async resolve(key: string): Promise<TranslatorDefinition> {
    const definition = this.#definitions.get(key) ?? (this.#load ? await this.#load(key) : null);
    if (!definition) {
      const known = [...this.#definitions.keys()];
      throw new NotFoundError(
        `Translator "${key}" not found: register it in code or save it with data.translators.save.${known.length > 0 ? ` Registered in code: ${known.join(", ")}.` : ""}`,
        { ...this.#context, details: { key } },
      );
    }
    return definition;
  }

  async translate(key: string, record: Record<string, unknown>, options: { override?: string } = {}): Promise<Record<string, unknown>> {
    const definition = await this.resolve(key);
    return applyTranslator(definition, record, { override: options.override, transforms: this.#transforms, context: this.#context });
  }

  /** Translates each record; a record that fails is reported by index and the others are still returned. */
  async translateMany(key: string, records: readonly Record<string, unknown>[], options: { override?: string } = {}): Promise<TranslateManyResult> {
    const definition = await this.resolve(key);
    const result: TranslateManyResult = { records: [], failed: [] };
    records.forEach((record, index) => {
      try {
        result.records.push(applyTranslator(definition, record, { override: options.override, transforms: this.#transforms, context: this.#context }));
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        result.failed.push({ index, code: error.code, message: error.message });
      }
    });
    return result;
  }
}
