import { randomUUID } from "node:crypto";
import { isBridgeError, type BridgeError, type BridgeErrorCode } from "@bridge/core";
import { beforeEach, describe, expect, vi } from "vitest";

/** Role names that the conformance runner groups results by. */
export type ConformanceRole =
  | "queue"
  | "logs"
  | "notifications"
  | "data"
  | "search"
  | "email"
  | "sms"
  | "secrets"
  | "crypto";

/** Declaration that every suite records on each case it runs, so that the runner can read it back. */
export interface ConformanceMeta {
  role: ConformanceRole;
  provider: string;
  capabilities: object;
}

const TITLE_PATTERN = /^conformance\[([a-z]+)\] provider=(\S+)$/;

/** Title of the outer describe block of a suite, such as `conformance[queue] provider=rabbitmq`. */
export function conformanceTitle(role: ConformanceRole, provider: string): string {
  if (!/^\S+$/.test(provider)) {
    throw new TypeError(`Invalid provider name ${JSON.stringify(provider)}: use one word without spaces, such as "rabbitmq".`);
  }
  return `conformance[${role}] provider=${provider}`;
}

/** Reads a suite title back into role and provider; returns null for any other title. */
export function parseConformanceTitle(title: string): { role: string; provider: string } | null {
  const match = TITLE_PATTERN.exec(title);
  if (!match) return null;
  return { role: match[1] as string, provider: match[2] as string };
}

/**
 * Opens the outer describe block of a suite and stores the declared
 * capabilities in `task.meta.conformance` of every case that runs, where the
 * JSON reporter (and so the conformance runner) can read them.
 */
export function describeConformance(meta: ConformanceMeta, body: () => void): void {
  describe(conformanceTitle(meta.role, meta.provider), () => {
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
 * after `timeoutMs` (5000 ms by default).
 */
export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  return vi.waitFor(check, { timeout: options.timeoutMs ?? 5_000, interval: options.intervalMs ?? 25 });
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
