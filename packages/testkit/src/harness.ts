import { randomUUID } from "node:crypto";
import { isBridgeError, type BridgeError, type BridgeErrorCode } from "@bridge/core";
import { beforeEach, describe, expect, vi } from "vitest";
import { conformanceTitle, type ConformanceRole } from "./titles.js";

export { conformanceTitle, parseConformanceTitle, type ConformanceRole } from "./titles.js";

/** Declaration that every suite records on each case it runs, so that the runner can read it back. */
export interface ConformanceMeta {
  role: ConformanceRole;
  provider: string;
  capabilities: object;
}

// Covers real servers, where creating an instance and indexing the fixtures take a few seconds.
const DEFAULT_CASE_TIMEOUT_MS = 30_000;

/** Time limits that every suite accepts. */
export interface CaseTimeoutOptions {
  /**
   * Time limit of each case, in ms. The kit sets it on every case it
   * registers, so it replaces the `testTimeout` of your vitest config for
   * those cases. When absent: 30 000, or six times the suite's `timeoutMs`
   * where the suite takes one and that is larger.
   */
  caseTimeoutMs?: number;
}

/**
 * Returns the wait of each asynchronous check and the time limit of each
 * case. The case limit must exceed the wait: otherwise a check that fails
 * after waiting its full time is reported as vitest's "Test timed out"
 * instead of what went wrong.
 */
export function resolveTimeouts(options: { timeoutMs?: number; caseTimeoutMs?: number }): { timeoutMs: number; caseTimeoutMs: number } {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const caseTimeoutMs = options.caseTimeoutMs ?? Math.max(DEFAULT_CASE_TIMEOUT_MS, 6 * timeoutMs);
  for (const [name, value] of [["timeoutMs", timeoutMs], ["caseTimeoutMs", caseTimeoutMs]] as const) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new TypeError(`Invalid ${name} ${String(value)}: use a positive number of milliseconds.`);
    }
  }
  if (caseTimeoutMs <= timeoutMs) {
    throw new TypeError(
      `Invalid caseTimeoutMs ${caseTimeoutMs}: it must be larger than timeoutMs ${timeoutMs}, or a check that waits its full time ends as a test timeout ` +
        `instead of reporting what went wrong. Raise caseTimeoutMs, such as to ${6 * timeoutMs}.`,
    );
  }
  return { timeoutMs, caseTimeoutMs };
}

/**
 * Opens the outer describe block of a suite and stores the declared
 * capabilities in `task.meta.conformance` of every case that runs, where the
 * JSON reporter (and so the conformance runner) can read them. Every case in
 * the block gets `caseTimeoutMs` as its time limit.
 */
export function describeConformance(meta: ConformanceMeta, body: () => void, options: CaseTimeoutOptions = {}): void {
  const caseTimeoutMs = options.caseTimeoutMs ?? DEFAULT_CASE_TIMEOUT_MS;
  if (!Number.isFinite(caseTimeoutMs) || caseTimeoutMs <= 0) {
    throw new TypeError(`Invalid caseTimeoutMs ${String(caseTimeoutMs)}: use a positive number of milliseconds.`);
  }
  describe(conformanceTitle(meta.role, meta.provider), { timeout: caseTimeoutMs }, () => {
    beforeEach((context) => {
      (context.task.meta as Record<string, unknown>).conformance = meta;
    });
    body();
  });
}

/**
 * Returns a fresh namespace such as `kt3f9a0c1d`: lower-case letters and
 * digits only, so that it is valid in queue, topic, index and database names.
 */
export function newNamespace(): string {
  return `kt${randomUUID().replace(/-/g, "").slice(0, 8)}`;
}

export interface EventuallyOptions {
  /** Maximum time to keep retrying, in ms. */
  timeoutMs?: number;
  /** Pause between attempts, in ms. */
  intervalMs?: number;
}

/**
 * Calls `check` until it stops throwing and returns its value, for brokers
 * and engines that apply writes asynchronously. Rethrows the last failure
 * after `timeoutMs`: 4000 ms by default, below vitest's default test timeout
 * of 5000 ms, so that the check's own failure is what gets reported.
 */
export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  return vi.waitFor(check, { timeout: options.timeoutMs ?? 4_000, interval: options.intervalMs ?? 25 });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Awaits `action` and asserts that it rejects with a Bridge error of one of
 * the codes. `mentions` lists values the message must contain, because every
 * message has to name the value that failed. `label` names the case in a
 * failure, for checks that run in a loop.
 */
export async function expectBridgeError(
  action: Promise<unknown> | (() => Promise<unknown>),
  codes: BridgeErrorCode | BridgeErrorCode[],
  mentions: string[] = [],
  label?: string,
): Promise<BridgeError> {
  const accepted = Array.isArray(codes) ? codes : [codes];
  const prefix = label === undefined ? "" : `${label}: `;
  let outcome: { resolved: unknown } | { rejected: unknown };
  try {
    outcome = { resolved: await (typeof action === "function" ? action() : action) };
  } catch (error) {
    outcome = { rejected: error };
  }

  if ("resolved" in outcome) {
    expect.fail(`${prefix}expected a BridgeError with code ${accepted.join(" or ")}, but the call resolved with ${preview(outcome.resolved)}`);
  }
  const error = outcome.rejected;
  if (!isBridgeError(error)) {
    expect.fail(`${prefix}expected a BridgeError with code ${accepted.join(" or ")}, but got ${describeThrown(error)}`);
  }
  expect(accepted, `${prefix}error code of: ${error.message}`).toContain(error.code);
  for (const value of mentions) {
    expect(error.message, `${prefix}the error message must name the value that failed`).toContain(value);
  }
  return error;
}

function describeThrown(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return preview(error);
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

/**
 * Keeps the instance of the running case so that `afterEach` can clean it up
 * even when the case fails halfway.
 */
export class InstanceTracker<T> {
  private readonly instances: T[] = [];

  track(instance: T): T {
    this.instances.push(instance);
    return instance;
  }

  /** Removes and returns every tracked instance, newest first. */
  drain(): T[] {
    return this.instances.splice(0).reverse();
  }
}
