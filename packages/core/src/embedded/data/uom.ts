// Units of measure: named configurations of units and conversion factors, and
// exact decimal conversion between units of one dimension.
import { randomUUID } from "node:crypto";
import { ExactDecimal, UOM_SCALE, formatDecimal, parseDecimal, roundDecimal } from "../../data/decimal.js";
import { deepEqual } from "../../data/json.js";
import { parseInput, skuSchema, uomCodeSchema, uomConfigurationInputSchema } from "../../data/validation.js";
import { NotFoundError, ValidationError } from "../../errors.js";
import type { UnitConversion, UomConfiguration, UomModule } from "../../roles/data/uom.js";
import { currentTenantId } from "../../tenant.js";
import { type Clock, TenantCollection, assertId, errorContext, newStoredFields } from "./store.js";

/**
 * The rounding rule of `convert`: the result is exact when it has at most
 * UOM_SCALE (12) decimal places, and otherwise rounded half-even to 12
 * places, so 1 EA to DZ at 12 EA per DZ is "0.083333333333". The path's
 * factors are multiplied exactly and divided once at the end, so a path of
 * several conversions rounds only once.
 */
export const UOM_ROUNDING = { scale: UOM_SCALE, mode: "half-even" } as const;

interface Edge {
  to: string;
  factor: ExactDecimal;
  /** True when the edge runs a conversion backwards, dividing by its factor. */
  inverse: boolean;
}

function validateConfiguration(input: ReturnType<typeof uomConfigurationInputSchema.parse>): void {
  const problems: string[] = [];
  const units = new Map<string, string>();
  for (const unit of input.units) {
    if (units.has(unit.code)) problems.push(`unit "${unit.code}" is defined twice`);
    units.set(unit.code, unit.dimension);
  }

  const pairs = new Set<string>();
  for (const conversion of input.conversions) {
    const label = `${conversion.from} → ${conversion.to}${conversion.sku ? ` for SKU "${conversion.sku}"` : ""}`;
    const fromDimension = units.get(conversion.from);
    const toDimension = units.get(conversion.to);
    if (fromDimension === undefined) problems.push(`conversion ${label} uses the undefined unit "${conversion.from}"`);
    if (toDimension === undefined) problems.push(`conversion ${label} uses the undefined unit "${conversion.to}"`);
    if (fromDimension && toDimension && fromDimension !== toDimension) {
      problems.push(`conversion ${label} crosses dimensions (${fromDimension} to ${toDimension})`);
    }
    if (conversion.from === conversion.to) problems.push(`conversion ${label} converts a unit to itself`);

    // A conversion and its reverse describe the same pair, so only one of them may be given.
    const pair = JSON.stringify([[conversion.from, conversion.to].sort(), conversion.sku ?? null]);
    if (pairs.has(pair)) problems.push(`conversion ${label} repeats a pair that is already converted`);
    pairs.add(pair);
  }

  if (problems.length > 0) {
    throw new ValidationError(`Invalid UOM configuration "${input.name}": ${problems.join("; ")}.`, {
      ...errorContext(),
      details: { name: input.name, problems },
    });
  }
}

/** Conversion edges for `sku`: a SKU-specific conversion replaces the general one for the same pair of units. */
function buildGraph(conversions: readonly UnitConversion[], sku: string | undefined): Map<string, Edge[]> {
  const chosen = new Map<string, UnitConversion>();
  for (const conversion of conversions) {
    if (conversion.sku !== undefined && conversion.sku !== sku) continue;
    const pair = JSON.stringify([conversion.from, conversion.to].sort());
    const existing = chosen.get(pair);
    if (!existing || (existing.sku === undefined && conversion.sku !== undefined)) chosen.set(pair, conversion);
  }

  const graph = new Map<string, Edge[]>();
  const addEdge = (from: string, edge: Edge) => graph.set(from, [...(graph.get(from) ?? []), edge]);
  for (const conversion of chosen.values()) {
    const factor = new ExactDecimal(conversion.factor);
    addEdge(conversion.from, { to: conversion.to, factor, inverse: false });
    addEdge(conversion.to, { to: conversion.from, factor, inverse: true });
  }
  return graph;
}

/**
 * Finds the shortest chain of edges from `from` to `to` (breadth first, in
 * configuration order), or returns null.
 */
function findPath(graph: Map<string, Edge[]>, from: string, to: string): Edge[] | null {
  // NOTE: a configuration whose paths disagree (CS→EA 24 but CS→PK→EA 20) is not detected; the shortest path wins.
  const previous = new Map<string, { unit: string; edge: Edge }>();
  const queue = [from];
  const visited = new Set([from]);
  while (queue.length > 0) {
    const unit = queue.shift() as string;
    if (unit === to) break;
    for (const edge of graph.get(unit) ?? []) {
      if (visited.has(edge.to)) continue;
      visited.add(edge.to);
      previous.set(edge.to, { unit, edge });
      queue.push(edge.to);
    }
  }
  if (!visited.has(to)) return null;

  const path: Edge[] = [];
  for (let unit = to; unit !== from; ) {
    const step = previous.get(unit);
    if (!step) return null;
    path.unshift(step.edge);
    unit = step.unit;
  }
  return path;
}

export function createMemoryUom(clock: Clock): UomModule {
  const configurations = new TenantCollection<UomConfiguration>("UOM configuration", [{ field: "name", key: (config) => config.name }]);

  return {
    /** Replaces the named configuration, keeping its id and raising its version. */
    async saveConfiguration(input) {
      const parsed = parseInput(uomConfigurationInputSchema, input, "UOM configuration", errorContext());
      validateConfiguration(parsed);
      const tenantId = currentTenantId();
      const fields = { name: parsed.name, units: parsed.units, conversions: parsed.conversions };

      const current = configurations.findByUnique(tenantId, "name", parsed.name);
      if (!current) return configurations.insert(tenantId, { ...newStoredFields(randomUUID(), tenantId, clock.now()), ...fields });
      const next = { ...current, ...fields };
      if (deepEqual(current, next)) return current;
      return configurations.replace(tenantId, { ...next, version: current.version + 1, updatedAt: clock.now().toISOString() });
    },

    async getConfiguration(name) {
      assertId(name, "UOM configuration name");
      return configurations.findByUnique(currentTenantId(), "name", name) ?? null;
    },

    /** Converts exactly, then applies UOM_ROUNDING. */
    async convert(request) {
      assertId(request.configuration, "UOM configuration name");
      const context = errorContext();
      const quantity = parseDecimal(request.quantity, "quantity", context);
      const from = parseInput(uomCodeSchema, request.from, "source unit", context);
      const to = parseInput(uomCodeSchema, request.to, "target unit", context);
      const sku = request.sku === undefined ? undefined : parseInput(skuSchema, request.sku, "SKU", context);

      const config = configurations.findByUnique(currentTenantId(), "name", request.configuration);
      if (!config) {
        throw new NotFoundError(`UOM configuration "${request.configuration}" not found. Save it with saveConfiguration first.`, {
          ...context,
          details: { configuration: request.configuration },
        });
      }

      const dimensions = new Map(config.units.map((unit) => [unit.code, unit.dimension]));
      for (const unit of [from, to]) {
        if (!dimensions.has(unit)) {
          throw new ValidationError(
            `Unit "${unit}" is not defined in UOM configuration "${config.name}". Use a defined unit (${[...dimensions.keys()].join(", ")}) or add it to the configuration.`,
            { ...context, details: { configuration: config.name, unit } },
          );
        }
      }
      if (dimensions.get(from) !== dimensions.get(to)) {
        throw new ValidationError(
          `Cannot convert ${from} (${dimensions.get(from)}) to ${to} (${dimensions.get(to)}): units convert only within one dimension.`,
          { ...context, details: { configuration: config.name, from, to } },
        );
      }
      if (from === to) return formatDecimal(roundDecimal(quantity, UOM_ROUNDING.scale, UOM_ROUNDING.mode));

      const path = findPath(buildGraph(config.conversions, sku), from, to);
      if (!path) {
        throw new ValidationError(
          `No conversion from ${from} to ${to} in UOM configuration "${config.name}"${sku ? ` for SKU "${sku}"` : ""}. Add a conversion between them, directly or through other units.`,
          { ...context, details: { configuration: config.name, from, to, sku } },
        );
      }

      let numerator = new ExactDecimal(1);
      let denominator = new ExactDecimal(1);
      for (const edge of path) {
        if (edge.inverse) denominator = denominator.times(edge.factor);
        else numerator = numerator.times(edge.factor);
      }
      const exact = quantity.times(numerator).dividedBy(denominator);
      return formatDecimal(roundDecimal(exact, UOM_ROUNDING.scale, UOM_ROUNDING.mode));
    },
  };
}
