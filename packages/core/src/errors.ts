import { randomUUID } from "node:crypto";

export type RoleName =
  | "queue"
  | "logs"
  | "notifications"
  | "data"
  | "search"
  | "email"
  | "sms"
  | "secrets"
  | "crypto"
  | "ai"
  | "catalog";

export const ROLE_NAMES: readonly RoleName[] = [
  "queue",
  "logs",
  "notifications",
  "data",
  "search",
  "email",
  "sms",
  "secrets",
  "crypto",
  "ai",
  "catalog",
];

/** Stable, machine-readable error codes. Callers branch on these, never on messages. */
export type BridgeErrorCode =
  | "CONFIG_INVALID"
  | "PROVIDER_NOT_INSTALLED"
  | "PROVIDER_NOT_FOUND"
  | "ROLE_NOT_CONFIGURED"
  | "VALIDATION_FAILED"
  | "INVALID_FILTER"
  | "NOT_FOUND"
  | "CONFLICT"
  | "VERSION_CONFLICT"
  | "DUPLICATE_KEY"
  | "INVALID_TRANSITION"
  | "INSUFFICIENT_STOCK"
  | "RESERVATION_NOT_ACTIVE"
  | "NO_PRICE"
  | "INVALID_JOB_CARD"
  | "PAYLOAD_TOO_LARGE"
  | "LEASE_EXPIRED"
  | "OUTBOX_FULL"
  | "UNAVAILABLE"
  | "TIMEOUT"
  | "CLOSED"
  | "PERMANENT_DELIVERY_FAILURE"
  | "RETRYABLE_DELIVERY_FAILURE"
  | "TOKEN_INVALID"
  | "TOKEN_EXPIRED"
  | "TOKEN_REUSED"
  | "SECRET_NOT_FOUND"
  | "NOT_SUPPORTED"
  | "INTERNAL";

export interface BridgeErrorOptions {
  code: BridgeErrorCode;
  role?: RoleName;
  integration?: string;
  tenantId?: string;
  correlationId?: string;
  /** Whether repeating the same call later may succeed. */
  retryable?: boolean;
  /** Structured facts about the failure, such as the rejected value. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

const BRAND = Symbol.for("@bridge/core/BridgeError");

/**
 * Base class of every error Bridge throws on purpose. The message names what
 * failed, on which value and what to do, and the fields record where.
 */
export class BridgeError extends Error {
  /** Lets `isBridgeError` recognise errors from a second copy of core (ESM and CJS loaded side by side). */
  readonly [BRAND] = true;
  readonly code: BridgeErrorCode;
  readonly role: RoleName | undefined;
  readonly integration: string | undefined;
  readonly tenantId: string | undefined;
  readonly correlationId: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(message: string, options: BridgeErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.role = options.role;
    this.integration = options.integration;
    this.tenantId = options.tenantId;
    this.correlationId = options.correlationId ?? randomUUID();
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      role: this.role,
      integration: this.integration,
      tenantId: this.tenantId,
      correlationId: this.correlationId,
      retryable: this.retryable,
      details: this.details,
    };
  }
}

type Context = Omit<BridgeErrorOptions, "code">;

export class ConfigError extends BridgeError {
  /** One entry per invalid or missing variable. */
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[], context: Context = {}) {
    const lines = problems.map(
      (p) => `  - ${p.variable}: ${p.message} (got ${p.value === undefined ? "nothing" : JSON.stringify(p.value)})`,
    );
    super(`Invalid configuration, ${problems.length} problem(s):\n${lines.join("\n")}`, {
      ...context,
      code: "CONFIG_INVALID",
      details: { problems },
    });
    this.problems = problems;
  }
}

export interface ConfigProblem {
  variable: string;
  /** The value as received, with secrets masked; undefined when missing. */
  value: string | undefined;
  /** Expected value or format, in plain words. */
  message: string;
}

export interface MissingProvider {
  provider: string;
  packageName: string;
  /** The variable that named it, such as BRIDGE_QUEUE. */
  variable: string;
  /** Providers Bridge publishes for that role, to catch a misspelled name. */
  known: readonly string[];
}

/**
 * A provider named in the environment whose package is not installed. Other
 * configuration problems found in the same pass are listed with it.
 */
export class ProviderNotInstalledError extends BridgeError {
  readonly packages: string[];
  readonly problems: ConfigProblem[];
  constructor(missing: MissingProvider[], otherProblems: ConfigProblem[] = []) {
    const packages = [...new Set(missing.map((m) => m.packageName))];
    const lines = missing.map((m) => {
      const known = m.known.length > 0 ? `; Bridge providers for this role: ${m.known.join(", ")}` : "";
      return `  - ${m.variable}=${m.provider}: package ${m.packageName} is not installed${known}`;
    });
    const others = otherProblems.map(
      (p) => `  - ${p.variable}: ${p.message} (got ${p.value === undefined ? "nothing" : JSON.stringify(p.value)})`,
    );
    super(
      `Invalid configuration, ${lines.length + others.length} problem(s):\n${[...lines, ...others].join("\n")}\n` +
        `Install the missing provider package with: pnpm add ${packages.join(" ")} (or fix the provider name if it is misspelled)`,
      { code: "PROVIDER_NOT_INSTALLED", integration: missing[0]?.provider, details: { missing, problems: otherProblems } },
    );
    this.packages = packages;
    this.problems = [
      ...missing.map((m) => ({ variable: m.variable, value: m.provider, message: `package ${m.packageName} is not installed` })),
      ...otherProblems,
    ];
  }
}

export class ValidationError extends BridgeError {
  constructor(message: string, context: Context = {}) {
    super(message, { ...context, code: "VALIDATION_FAILED" });
  }
}

export class InvalidFilterError extends BridgeError {
  constructor(message: string, context: Context = {}) {
    super(message, { ...context, code: "INVALID_FILTER" });
  }
}

export class NotFoundError extends BridgeError {
  constructor(message: string, context: Context = {}) {
    super(message, { ...context, code: "NOT_FOUND" });
  }
}

export class VersionConflictError extends BridgeError {
  constructor(message: string, context: Context = {}) {
    super(message, { ...context, code: "VERSION_CONFLICT", retryable: true });
  }
}

export class DuplicateKeyError extends BridgeError {
  constructor(message: string, context: Context = {}) {
    super(message, { ...context, code: "DUPLICATE_KEY" });
  }
}

export class InvalidTransitionError extends BridgeError {
  constructor(message: string, context: Context = {}) {
    super(message, { ...context, code: "INVALID_TRANSITION" });
  }
}

export class InsufficientStockError extends BridgeError {
  constructor(message: string, context: Context = {}) {
    super(message, { ...context, code: "INSUFFICIENT_STOCK" });
  }
}

export class UnavailableError extends BridgeError {
  constructor(message: string, context: Context = {}) {
    super(message, { ...context, code: "UNAVAILABLE", retryable: true });
  }
}

export class TimeoutError extends BridgeError {
  constructor(message: string, context: Context = {}) {
    super(message, { ...context, code: "TIMEOUT", retryable: true });
  }
}

/** Delivery error of email and SMS, marked retryable when sending again can help. */
export class DeliveryError extends BridgeError {
  constructor(message: string, permanent: boolean, context: Context = {}) {
    super(message, {
      ...context,
      code: permanent ? "PERMANENT_DELIVERY_FAILURE" : "RETRYABLE_DELIVERY_FAILURE",
      retryable: !permanent,
    });
  }
}

export function isBridgeError(error: unknown, code?: BridgeErrorCode): error is BridgeError {
  if (typeof error !== "object" || error === null) return false;
  const branded = (error as Record<symbol, unknown>)[BRAND] === true;
  return branded && (code === undefined || (error as BridgeError).code === code);
}

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  details?: Record<string, unknown>;
}

/** Turns anything thrown into plain JSON that survives a queue or a log store. */
export function serializeError(error: unknown): SerializedError {
  if (isBridgeError(error)) {
    return { name: error.name, message: error.message, code: error.code, stack: error.stack, details: error.details };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === "string" ? { code } : {}),
      ...(error.stack ? { stack: error.stack } : {}),
    };
  }
  return { name: "NonError", message: typeof error === "string" ? error : JSON.stringify(error) ?? String(error) };
}
