import { randomUUID } from "node:crypto";
import { isBridgeError, type BridgeErrorCode, type Logger } from "@bridge/core";

/** HTTP status for each Bridge error code the API can meet; anything else is a 500. */
const STATUS_BY_CODE: Partial<Record<BridgeErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  INVALID_FILTER: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  VERSION_CONFLICT: 409,
  DUPLICATE_KEY: 409,
  INVALID_TRANSITION: 409,
  INSUFFICIENT_STOCK: 409,
  RESERVATION_NOT_ACTIVE: 409,
  PAYLOAD_TOO_LARGE: 413,
  NO_PRICE: 422,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  NOT_SUPPORTED: 501,
};

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    correlationId: string;
    details?: Record<string, unknown>;
  };
}

/**
 * Converts anything a route throws into a status and a JSON body. Bridge
 * errors keep their code and message, and so do Fastify's own 4xx errors (bad
 * JSON, wrong content type). Anything else is logged and returned as a
 * generic 500, so internals do not leak.
 */
export function toHttpError(error: unknown, log: Logger, request: { method: string; url: string; tenantId?: string }): { status: number; body: ErrorBody } {
  if (isBridgeError(error)) {
    const status = STATUS_BY_CODE[error.code] ?? 500;
    if (status >= 500) log.error("request failed", { ...request, code: error.code, correlationId: error.correlationId, err: error });
    const details = Object.keys(error.details).length > 0 ? { details: error.details } : {};
    return { status, body: { error: { code: error.code, message: error.message, correlationId: error.correlationId, ...details } } };
  }

  const correlationId = randomUUID();
  const fastifyStatus = (error as { statusCode?: unknown }).statusCode;
  if (typeof fastifyStatus === "number" && fastifyStatus >= 400 && fastifyStatus < 500) {
    const code = (error as { code?: unknown }).code;
    return {
      status: fastifyStatus,
      body: { error: { code: typeof code === "string" ? code : "BAD_REQUEST", message: (error as Error).message, correlationId } },
    };
  }

  log.error("request failed with an unexpected error", { ...request, correlationId, err: error });
  return {
    status: 500,
    body: { error: { code: "INTERNAL", message: `Internal error; the server log has the details under correlation id ${correlationId}`, correlationId } },
  };
}
