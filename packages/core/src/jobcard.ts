/**
 * The job card: the envelope every queue provider stores and delivers. The
 * schema, the publish option checks, retry backoff and the payload limit live
 * here so that the embedded, RabbitMQ and Kafka queues apply the same rules.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { BridgeError, isBridgeError, TimeoutError, ValidationError, type BridgeErrorCode } from "./errors.js";
import {
  DEFAULT_JOB_TIMEOUT_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_PRIORITY,
  type DeadLetterReason,
  type FailOptions,
  type JobCard,
  type PublishOptions,
} from "./roles/queue.js";
import { currentTraceparent } from "./telemetry.js";

/**
 * Letters, digits, ".", "-" and "_", starting with a letter or digit, at most
 * 200 characters. A name that fits is also a valid Kafka topic (at most 249
 * characters of that set) and RabbitMQ queue name, with room for a `.dlq` suffix.
 */
export const TASK_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Maximum length of an idempotency key or ordering key. */
export const MAX_KEY_LENGTH = 256;

/** Maximum delay that `setTimeout` accepts (2^31 - 1 ms, about 24.8 days). Node fires larger delays after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/** 1 MiB, close to Kafka's default broker limit (`message.max.bytes` = 1048588), so payloads tested on the embedded queue also fit Kafka. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1_048_576;

const TASK_NAME_RULE = 'use 1 to 200 letters, digits, ".", "-" or "_", starting with a letter or digit, such as "order.place"';

const isoTime = z.string().datetime({ offset: true, message: "must be an ISO 8601 time such as 2025-01-31T12:00:00.000Z" });

const serializedErrorSchema = z.object({
  name: z.string(),
  message: z.string(),
  code: z.string().optional(),
  stack: z.string().optional(),
  details: z.record(z.unknown()).optional(),
});

/** Zod schema of a job card as it travels between producer and consumer. */
export const jobCardSchema = z.object({
  id: z.string().min(1, "must be a non-empty string"),
  task: z.string().regex(TASK_NAME_PATTERN, `must be a task name: ${TASK_NAME_RULE}`),
  payload: z.unknown().refine((payload) => payload !== undefined, "Required"),
  tenantId: z.string().min(1, "must be a non-empty string"),
  priority: z.number().int("must be an integer").min(1, "must be 1 to 10").max(10, "must be 1 to 10"),
  attempts: z.number().int("must be an integer").min(0, "must be 0 or more"),
  maxAttempts: z.number().int("must be an integer").min(1, "must be 1 or more"),
  createdAt: isoTime,
  scheduledFor: isoTime.nullable(),
  timeoutMs: z.number().int("must be an integer").min(1, "must be 1 or more").max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS}`),
  idempotencyKey: z.string().min(1).max(MAX_KEY_LENGTH).optional(),
  orderingKey: z.string().min(1).max(MAX_KEY_LENGTH).optional(),
  // A malformed traceparent is ignored by the consumer, so it does not make the card invalid.
  traceparent: z.string().optional(),
  lastError: serializedErrorSchema.optional(),
});

export type ParsedJobCard<P = unknown> = { ok: true; job: JobCard<P> } | { ok: false; reason: string };

/**
 * Parses a job card from an object, JSON text or UTF-8 bytes. Never throws.
 * The reason names each failing field, or starts with "not JSON".
 */
export function parseJobCard<P = unknown>(raw: unknown): ParsedJobCard<P> {
  let value: unknown = raw;

  if (raw instanceof Uint8Array) {
    try {
      value = new TextDecoder("utf-8", { fatal: true }).decode(raw);
    } catch {
      return { ok: false, reason: "not JSON: the bytes are not valid UTF-8" };
    }
  }
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch (error) {
      return { ok: false, reason: `not JSON: ${(error as Error).message}` };
    }
  }

  let result: z.SafeParseReturnType<unknown, unknown>;
  try {
    result = jobCardSchema.safeParse(value);
  } catch (error) {
    // A getter on a caller's object can throw while zod reads it.
    return { ok: false, reason: `job card: could not be read (${(error as Error)?.message ?? String(error)})` };
  }
  if (!result.success) {
    return { ok: false, reason: formatIssues(result.error.issues) };
  }
  return { ok: true, job: result.data as JobCard<P> };
}

function formatIssues(issues: z.ZodIssue[]): string {
  return issues.map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "job card"}: ${issue.message}`).join("; ");
}

const publishOptionsSchema = z.object({
  priority: z
    .number({ invalid_type_error: "must be a number" })
    .int("must be an integer from 1 to 10")
    .min(1, "must be an integer from 1 to 10")
    .max(10, "must be an integer from 1 to 10")
    .optional(),
  delayMs: z
    .number({ invalid_type_error: "must be a number of milliseconds" })
    .finite("must be a finite number of milliseconds")
    .min(0, "must be 0 or more milliseconds")
    .optional(),
  scheduledFor: z
    .union([z.date(), z.string()], { invalid_type_error: "must be a Date or an ISO 8601 string" })
    .refine((value) => !Number.isNaN(new Date(value).getTime()), "must be a valid date")
    .optional(),
  maxAttempts: z
    .number({ invalid_type_error: "must be a number" })
    .int("must be an integer of 1 or more")
    .min(1, "must be an integer of 1 or more")
    .optional(),
  timeoutMs: z
    .number({ invalid_type_error: "must be a number of milliseconds" })
    .int("must be an integer number of milliseconds")
    .min(1, "must be 1 ms or more")
    .max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (the largest timer Node.js supports)`)
    .optional(),
  idempotencyKey: z
    .string({ invalid_type_error: "must be a string" })
    .min(1, "must not be empty")
    .max(MAX_KEY_LENGTH, `must be at most ${MAX_KEY_LENGTH} characters`)
    .optional(),
  orderingKey: z
    .string({ invalid_type_error: "must be a string" })
    .min(1, "must not be empty")
    .max(MAX_KEY_LENGTH, `must be at most ${MAX_KEY_LENGTH} characters`)
    .optional(),
  tenantId: z.string({ invalid_type_error: "must be a string" }).min(1, "must not be empty").optional(),
});

/** Throws ValidationError unless `task` is a valid task name. */
export function validateTaskName(task: unknown, tenantId?: string): asserts task is string {
  if (typeof task !== "string" || !TASK_NAME_PATTERN.test(task)) {
    throw new ValidationError(`Invalid task name ${JSON.stringify(task)}: ${TASK_NAME_RULE}.`, {
      role: "queue",
      tenantId,
      details: { task },
    });
  }
}

/**
 * Throws ValidationError listing every invalid publish option with the value
 * received: priority 1 to 10, delay 0 or more, maxAttempts 1 or more.
 */
export function validatePublishOptions(task: string, options: PublishOptions | undefined, tenantId?: string): PublishOptions {
  if (options === undefined) {
    return {};
  }
  if (options === null || typeof options !== "object") {
    throw new ValidationError(`Invalid publish options for task "${task}": expected an object, got ${JSON.stringify(options)}.`, {
      role: "queue",
      tenantId,
    });
  }

  const result = publishOptionsSchema.safeParse(options);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const field = issue.path.join(".");
      const value = (options as Record<string, unknown>)[String(issue.path[0])];
      return `${field} ${issue.message} (got ${describeValue(value)})`;
    });
    throw new ValidationError(`Invalid publish options for task "${task}": ${problems.join("; ")}.`, {
      role: "queue",
      tenantId,
      details: { task, problems },
    });
  }
  return options;
}

function describeValue(value: unknown): string {
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    return String(value);
  }
  return JSON.stringify(value) ?? String(value);
}

/**
 * Builds a new job card for `task` after validating the task name and the
 * options. `options.tenantId` wins over `tenantId`. The card carries the
 * current trace context. `now` is epoch milliseconds.
 */
export function createJobCard<P>(
  task: string,
  payload: P,
  options: PublishOptions | undefined,
  tenantId: string,
  now: number = Date.now(),
): JobCard<P> {
  validateTaskName(task, tenantId);
  const checked = validatePublishOptions(task, options, tenantId);
  const tenant = checked.tenantId ?? tenantId;
  if (typeof tenant !== "string" || tenant.length === 0) {
    throw new ValidationError(`Missing tenant for task "${task}": run inside runWithTenant() or pass options.tenantId.`, {
      role: "queue",
      details: { task },
    });
  }
  if (payload === undefined) {
    throw new ValidationError(`Payload of task "${task}" is undefined: pass null or a JSON value.`, {
      role: "queue",
      tenantId: tenant,
      details: { task },
    });
  }

  let scheduledFor: string | null = null;
  if (checked.scheduledFor !== undefined) {
    scheduledFor = new Date(checked.scheduledFor).toISOString();
  } else if (checked.delayMs !== undefined && checked.delayMs > 0) {
    scheduledFor = new Date(now + checked.delayMs).toISOString();
  }
  const traceparent = currentTraceparent();

  return {
    id: randomUUID(),
    task,
    payload,
    tenantId: tenant,
    priority: checked.priority ?? DEFAULT_PRIORITY,
    attempts: 0,
    maxAttempts: checked.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    createdAt: new Date(now).toISOString(),
    scheduledFor,
    timeoutMs: checked.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS,
    ...(checked.idempotencyKey !== undefined ? { idempotencyKey: checked.idempotencyKey } : {}),
    ...(checked.orderingKey !== undefined ? { orderingKey: checked.orderingKey } : {}),
    ...(traceparent !== undefined ? { traceparent } : {}),
  };
}

/**
 * Throws unless `payload` serializes to JSON of at most `maxBytes` UTF-8
 * bytes: BridgeError PAYLOAD_TOO_LARGE when it is too big, ValidationError
 * when it cannot be serialized. Returns the size in bytes.
 */
export function assertPayloadSize(payload: unknown, maxBytes: number, context: { task?: string; tenantId?: string } = {}): number {
  const subject = context.task === undefined ? "Payload" : `Payload of task "${context.task}"`;

  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (error) {
    throw new ValidationError(
      `${subject} cannot be serialized to JSON (${(error as Error).message}): remove cycles, BigInt and other non-JSON values.`,
      {
        role: "queue",
        tenantId: context.tenantId,
        cause: error,
        details: { task: context.task },
      },
    );
  }
  if (text === undefined) {
    throw new ValidationError(
      `${subject} is ${typeof payload}, which JSON cannot represent: pass null, an object, an array or a primitive.`,
      {
        role: "queue",
        tenantId: context.tenantId,
        details: { task: context.task },
      },
    );
  }

  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) {
    throw new BridgeError(
      `${subject} is ${bytes} bytes, over the limit of ${maxBytes} bytes: store the large data elsewhere (the data role or object storage) and put its id in the payload.`,
      { code: "PAYLOAD_TOO_LARGE", role: "queue", tenantId: context.tenantId, details: { task: context.task, bytes, maxBytes } },
    );
  }
  return bytes;
}

export interface BackoffOptions {
  /** Delay cap of the first retry, in ms. Default 1000. */
  baseMs?: number;
  /** Maximum delay, in ms. Default 300 000 (5 minutes). */
  maxMs?: number;
  /**
   * "full" picks a delay between 0 and the cap, which spreads retries most.
   * "equal" picks between half the cap and the cap, so a retry never comes at
   * once. Default "equal".
   */
  jitter?: "full" | "equal";
  /** Source of random numbers from 0 up to but excluding 1. Tests pass a fixed one. */
  random?: () => number;
}

/**
 * Returns the delay in ms before retry number `attempt` (1 for the first
 * retry): exponential from `baseMs`, capped at `maxMs`, with jitter.
 */
export function computeBackoffMs(attempt: number, options: BackoffOptions = {}): number {
  const baseMs = options.baseMs ?? 1000;
  const maxMs = options.maxMs ?? 300_000;
  const random = options.random ?? Math.random;

  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new ValidationError(`Invalid backoff attempt ${JSON.stringify(attempt)}: pass an integer of 1 or more.`, { role: "queue" });
  }
  if (!Number.isFinite(baseMs) || baseMs < 0 || !Number.isFinite(maxMs) || maxMs < baseMs) {
    throw new ValidationError(
      `Invalid backoff settings baseMs=${baseMs}, maxMs=${maxMs}: both must be finite, 0 or more, and maxMs at least baseMs.`,
      { role: "queue" },
    );
  }

  // Math.min before the power would still overflow for large attempts, so cap the exponent.
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 52));
  const delay = options.jitter === "full" ? random() * cap : cap / 2 + (random() * cap) / 2;
  return Math.round(delay);
}

/** Codes of errors that the same input will hit again, so retrying a job cannot help. */
const PERMANENT_CODES: ReadonlySet<BridgeErrorCode> = new Set<BridgeErrorCode>([
  "VALIDATION_FAILED",
  "INVALID_FILTER",
  "INVALID_JOB_CARD",
  "PAYLOAD_TOO_LARGE",
  "PERMANENT_DELIVERY_FAILURE",
  "NOT_SUPPORTED",
  "CONFIG_INVALID",
]);

/**
 * Returns false for errors that retrying cannot fix (invalid input, permanent
 * delivery failure), true for everything else, thrown values included.
 */
export function isRetryableJobError(error: unknown): boolean {
  return !(isBridgeError(error) && PERMANENT_CODES.has(error.code));
}

/** Builds the error a runtime passes to `fail` when a handler runs past `job.timeoutMs`. */
export function createHandlerTimeoutError(job: JobCard): TimeoutError {
  return new TimeoutError(
    `Job ${job.id} of task "${job.task}" timed out after ${job.timeoutMs} ms on attempt ${job.attempts} of ${job.maxAttempts}: ` +
      "make the handler stop when its AbortSignal fires, make it faster, or publish with a larger timeoutMs.",
    {
      role: "queue",
      tenantId: job.tenantId,
      details: { reason: "handler-timeout", jobId: job.id, task: job.task, timeoutMs: job.timeoutMs },
    },
  );
}

/** Checks whether `error` was built by `createHandlerTimeoutError`. */
export function isHandlerTimeout(error: unknown): boolean {
  return isBridgeError(error, "TIMEOUT") && error.details["reason"] === "handler-timeout";
}

export type FailureDecision = { action: "retry" } | { action: "dead"; reason: DeadLetterReason };

/**
 * Decides what `fail` does with a job whose attempt number `job.attempts`
 * just failed: dead-letter it when not retryable or out of attempts, otherwise retry.
 */
export function decideFailure(job: JobCard, error: unknown, options: FailOptions = {}): FailureDecision {
  if (options.retryable === false) {
    return { action: "dead", reason: "non-retryable" };
  }
  if (job.attempts >= job.maxAttempts) {
    return { action: "dead", reason: isHandlerTimeout(error) ? "handler-timeout" : "max-attempts" };
  }
  return { action: "retry" };
}

/** Throws ValidationError unless `options.delayMs` is absent or a finite number of 0 or more. */
export function validateFailOptions(options: FailOptions | undefined, tenantId?: string): FailOptions {
  if (options === undefined) {
    return {};
  }
  if (options.delayMs !== undefined && (typeof options.delayMs !== "number" || !Number.isFinite(options.delayMs) || options.delayMs < 0)) {
    throw new ValidationError(
      `Invalid fail option delayMs ${describeValue(options.delayMs)}: pass a finite number of 0 or more milliseconds.`,
      {
        role: "queue",
        tenantId,
      },
    );
  }
  if (options.retryable !== undefined && typeof options.retryable !== "boolean") {
    throw new ValidationError(`Invalid fail option retryable ${describeValue(options.retryable)}: pass true or false.`, {
      role: "queue",
      tenantId,
    });
  }
  return options;
}
