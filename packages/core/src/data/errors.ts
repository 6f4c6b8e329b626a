import { BridgeError } from "../errors.js";
import type { ErrorContext } from "./filters.js";

/** A reservation that is committed, released or expired cannot be committed or released again. */
export class ReservationNotActiveError extends BridgeError {
  constructor(message: string, context: ErrorContext = {}) {
    super(message, { ...context, code: "RESERVATION_NOT_ACTIVE" });
  }
}

/** The request conflicts with stored state in a way that retrying unchanged cannot fix, such as a reused idempotency key. */
export class ConflictError extends BridgeError {
  constructor(message: string, context: ErrorContext = {}) {
    super(message, { ...context, code: "CONFLICT" });
  }
}
