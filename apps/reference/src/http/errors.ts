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

/** Codes of request errors that come from HTTP itself (body, content type, size) and not from a Bridge role. */
export type HttpErrorCode = "INVALID_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "PAYLOAD_TOO_LARGE" | "BAD_REQUEST";

/** A request the app rejects before any route runs, such as a body that is not JSON. */
export class HttpRequestError extends Error {
  readonly status: number;
  readonly code: HttpErrorCode;
  readonly details: Record<string, unknown>;

  constructor(message: string, options: { status: number; code: HttpErrorCode; details?: Record<string, unknown> }) {
    super(message);
    this.name = "HttpRequestError";
    this.status = options.status;
    this.code = options.code;
    this.details = options.details ?? {};
  }
}

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    correlationId: string;
    details?: Record<string, unknown>;
  };
}

export interface RequestContext {
  method: string;
  url: string;
  tenantId?: string;
  /** The app's body limit, named in the 413 message. */
  bodyLimitBytes?: number;
}

/**
 * Converts anything a route throws into a status and a JSON body. Bridge
 * errors and HttpRequestError keep their code and message. Fastify's own
 * 4xx errors get one of the app's codes (HttpErrorCode), never an `FST_ERR_*`
 * code. Anything else is logged and returned as a generic 500, so internals
 * do not leak.
 */
export function toHttpError(error: unknown, log: Logger, request: RequestContext): { status: number; body: ErrorBody } {
  const { bodyLimitBytes, ...logged } = request;
  if (isBridgeError(error)) {
    const status = STATUS_BY_CODE[error.code] ?? 500;
    if (status >= 500) log.error("request failed", { ...logged, code: error.code, correlationId: error.correlationId, err: error });
    const details = Object.keys(error.details).length > 0 ? { details: error.details } : {};
    return { status, body: { error: { code: error.code, message: error.message, correlationId: error.correlationId, ...details } } };
  }

  const correlationId = randomUUID();
  if (error instanceof HttpRequestError) {
    const details = Object.keys(error.details).length > 0 ? { details: error.details } : {};
    return { status: error.status, body: { error: { code: error.code, message: error.message, correlationId, ...details } } };
  }

  const fastifyStatus = (error as { statusCode?: unknown }).statusCode;
  if (typeof fastifyStatus === "number" && fastifyStatus >= 400 && fastifyStatus < 500) {
    const mapped = fromFastifyError(error as Error & { code?: unknown }, fastifyStatus, bodyLimitBytes);
    return { status: mapped.status, body: { error: { code: mapped.code, message: mapped.message, correlationId } } };
  }

  log.error("request failed with an unexpected error", { ...request, correlationId, err: error });
  return {
    status: 500,
    body: { error: { code: "INTERNAL", message: `Internal error; the server log has the details under correlation id ${correlationId}`, correlationId } },
  };
}

/** Maps a Fastify client error (code `FST_ERR_*`) to the app's code, status and a message that says what to send instead. */
function fromFastifyError(error: Error & { code?: unknown }, status: number, bodyLimitBytes: number | undefined): { status: number; code: HttpErrorCode; message: string } {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE": {
      const limit = bodyLimitBytes === undefined ? "the server's limit" : `the limit of ${bodyLimitBytes} bytes`;
      return { status: 413, code: "PAYLOAD_TOO_LARGE", message: `Request body is larger than ${limit}. Send a smaller JSON body` };
    }
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return { status: 400, code: "BAD_REQUEST", message: "Request body length does not match the Content-Length header. Send the exact byte length in the header, or leave the header out" };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return { status: 415, code: "UNSUPPORTED_MEDIA_TYPE", message: "Content-Type is not supported because the API reads JSON bodies only. Send the body with content-type: application/json" };
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return { status: 400, code: "INVALID_JSON", message: "Request body is not valid JSON. Send a JSON object with content-type: application/json" };
    default:
      break;
  }
  if (status === 413) return { status, code: "PAYLOAD_TOO_LARGE", message: error.message };
  if (status === 415) return { status, code: "UNSUPPORTED_MEDIA_TYPE", message: error.message };
  return { status, code: "BAD_REQUEST", message: error.message };
}
