import { InvalidTransitionError, ValidationError } from "../errors.js";
import { ENGAGEMENT_TRANSITIONS, type EngagementStatus } from "../roles/data/engagements.js";
import type { ErrorContext } from "./filters.js";
import { previewValue } from "./json.js";

export const ENGAGEMENT_STATUSES = Object.keys(ENGAGEMENT_TRANSITIONS) as EngagementStatus[];

export function isEngagementStatus(value: unknown): value is EngagementStatus {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(ENGAGEMENT_TRANSITIONS, value);
}

/**
 * Throws InvalidTransitionError unless the engagement lifecycle allows
 * `from → to`; the message lists the statuses reachable from `from`.
 * Throws ValidationError when `to` is not a status at all.
 */
export function assertTransition(from: EngagementStatus, to: unknown, context: ErrorContext = {}): asserts to is EngagementStatus {
  if (!isEngagementStatus(to)) {
    throw new ValidationError(
      `Invalid engagement status ${previewValue(to)}: expected one of ${ENGAGEMENT_STATUSES.join(", ")}.`,
      { ...context, details: { from, to: previewValue(to) } },
    );
  }

  const allowed = ENGAGEMENT_TRANSITIONS[from];
  if (allowed.includes(to)) return;

  const targets = allowed.length > 0 ? `allowed from ${from}: ${allowed.join(", ")}` : `${from} is final and allows no further change`;
  throw new InvalidTransitionError(`Cannot move an engagement from ${from} to ${to}: ${targets}.`, {
    ...context,
    details: { from, to, allowed: [...allowed] },
  });
}
