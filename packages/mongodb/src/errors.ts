// Maps MongoDB driver errors to Bridge errors, with the tenant, the
// collection and the operation in every message and never a password.
import {
  BridgeError,
  DuplicateKeyError,
  TimeoutError,
  UnavailableError,
  currentContext,
  isBridgeError,
  type BridgeErrorOptions,
  type RoleName,
} from "@bridge/core";
import { MongoError, MongoServerError } from "mongodb";
import { maskUri } from "./options.js";

export type ErrorContext = Omit<BridgeErrorOptions, "code">;

/** Error fields for the current call: role, integration, tenant and correlation id. */
export function contextFor(integration: string, role: RoleName = "data"): ErrorContext {
  const context = currentContext();
  return { role, integration, tenantId: context.tenantId, correlationId: context.correlationId };
}

const DUPLICATE_KEY_CODES = new Set([11000, 11001]);
const TIMEOUT_CODES = new Set([50 /* MaxTimeMSExpired */, 262 /* ExceededTimeLimit */]);

/**
 * Returns whether the server rejected a write for a unique index. FerretDB 1.24
 * reports E11000 on inserts but a plain error naming SQLite's UNIQUE
 * constraint on updates and replaces, so both count.
 */
export function isDuplicateKey(error: unknown): boolean {
  if (!(error instanceof MongoServerError)) return false;
  return DUPLICATE_KEY_CODES.has(Number(error.code)) || /UNIQUE constraint failed/.test(error.message);
}

/** Returns whether the driver failed to reach a server, as opposed to the server rejecting the operation. */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof MongoError)) return false;
  const name = error.name;
  return (
    name === "MongoServerSelectionError" ||
    name === "MongoNetworkError" ||
    name === "MongoNetworkTimeoutError" ||
    name === "MongoNotConnectedError" ||
    name === "MongoTopologyClosedError" ||
    name === "MongoPoolClearedError" ||
    error.hasErrorLabel("RetryableWriteError") ||
    error.hasErrorLabel("TransientTransactionError")
  );
}

/**
 * Turns anything a driver call threw into a BridgeError:
 * - no reachable server → UnavailableError (retryable),
 * - E11000 → DuplicateKeyError naming the key,
 * - server time limit → TimeoutError,
 * - anything else → BridgeError INTERNAL with the server's code.
 * BridgeErrors pass through unchanged.
 */
export function toBridgeError(error: unknown, operation: string, context: ErrorContext, uri: string): BridgeError {
  if (isBridgeError(error)) return error;
  const masked = maskUri(uri);
  const message = error instanceof Error ? maskUri(error.message) : String(error);

  if (isDuplicateKey(error)) {
    const keyValue = (error as MongoServerError).keyValue as Record<string, unknown> | undefined;
    const visibleKeys = keyValue ? Object.entries(keyValue).filter(([field]) => field !== "tenantId") : [];
    const key = visibleKeys.length > 0 ? visibleKeys.map(([field, value]) => `${field} ${JSON.stringify(value)}`).join(", ") : "the key";
    return new DuplicateKeyError(`${operation} failed: ${key} is already used in tenant "${context.tenantId}". Choose another value or update the existing record.`, {
      ...context,
      cause: error,
      details: { operation, keyValue: Object.fromEntries(visibleKeys) },
    });
  }

  if (isConnectionFailure(error)) {
    return new UnavailableError(
      `${operation} failed: MongoDB at ${masked} is unreachable (${message}). Check that the server is running and reachable; the driver reconnects on its own once it is.`,
      { ...context, cause: error, details: { operation, uri: masked, driverError: (error as Error).name } },
    );
  }

  if (error instanceof MongoServerError && TIMEOUT_CODES.has(Number(error.code))) {
    return new TimeoutError(`${operation} timed out on the server (${message}). Narrow the query or retry later.`, {
      ...context,
      cause: error,
      details: { operation, code: error.code },
    });
  }

  const code = error instanceof MongoServerError ? error.code : undefined;
  return new BridgeError(`${operation} failed on MongoDB at ${masked}: ${message}`, {
    ...context,
    code: "INTERNAL",
    cause: error,
    details: { operation, ...(code === undefined ? {} : { serverCode: code }), driverError: error instanceof Error ? error.name : typeof error },
  });
}
