/**
 * OpenTelemetry helpers: spans around role operations, and W3C trace context
 * (the `traceparent` header format) carried in job cards and notifications.
 * Only `@opentelemetry/api` is used, so spans are recorded only when the
 * application registers an SDK. Without one, trace context still passes through.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import {
  context as otelContext,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
} from "@opentelemetry/api";

const TRACER_NAME = "@bridge/core";

// Without an SDK the API's context manager is a no-op: `context.with()` does not
// make a context active. Bridge keeps its own copy so that a trace read from a
// job card still reaches the jobs and notifications its handler publishes.
const bridgeContext = new AsyncLocalStorage<Context>();

// Version 00 of the W3C trace context format: version, trace id, parent span id, flags.
const TRACEPARENT_PATTERN = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

export { SpanKind };

/**
 * Returns the context that carries the current span: the OpenTelemetry active
 * context when an SDK set a span in it, otherwise the one `withSpan` set.
 */
export function activeContext(): Context {
  const active = otelContext.active();
  if (trace.getSpanContext(active) !== undefined) {
    return active;
  }
  return bridgeContext.getStore() ?? active;
}

/** Formats a span context as a W3C `traceparent` value. */
export function formatTraceparent(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, "0");
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/**
 * Returns the W3C `traceparent` of the current span, or undefined when no
 * valid span is active.
 */
export function currentTraceparent(ctx: Context = activeContext()): string | undefined {
  const spanContext = trace.getSpanContext(ctx);
  if (spanContext === undefined || !isSpanContextValid(spanContext)) {
    return undefined;
  }
  return formatTraceparent(spanContext);
}

/**
 * Parses a W3C `traceparent` into a context whose remote span is the parent
 * of spans started in it. Returns undefined when the value is missing or
 * malformed, because a bad trace header must never fail the job or
 * notification that carries it.
 */
export function contextFromTraceparent(traceparent: string | undefined, base: Context = ROOT_CONTEXT): Context | undefined {
  if (typeof traceparent !== "string") {
    return undefined;
  }
  const match = TRACEPARENT_PATTERN.exec(traceparent.trim());
  if (match === null) {
    return undefined;
  }
  const [, version, traceId, spanId, flags, rest] = match;
  // Version ff is forbidden, and version 00 has exactly four fields.
  if (version === "ff" || (version === "00" && rest !== undefined)) {
    return undefined;
  }
  const spanContext: SpanContext = {
    traceId: traceId as string,
    spanId: spanId as string,
    traceFlags: Number.parseInt(flags as string, 16),
    isRemote: true,
  };
  if (!isSpanContextValid(spanContext)) {
    return undefined;
  }
  return trace.setSpanContext(base, spanContext);
}

export interface WithSpanOptions {
  /** Parent of the new span: a context, or a `traceparent` value from a message. The current span when absent or malformed. */
  parent?: Context | string;
  kind?: SpanKind;
}

/**
 * Runs `fn` inside a new span and ends the span when `fn` settles. A thrown
 * error is recorded on the span, which gets status ERROR, and rethrown.
 */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T> | T,
  options: WithSpanOptions = {},
): Promise<T> {
  const parent = resolveParent(options.parent);
  const span = trace.getTracer(TRACER_NAME).startSpan(name, { attributes, kind: options.kind ?? SpanKind.INTERNAL }, parent);
  const spanContext = trace.setSpan(parent, span);

  try {
    return await otelContext.with(spanContext, () => bridgeContext.run(spanContext, () => fn(span)));
  } catch (error) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}

function resolveParent(parent: Context | string | undefined): Context {
  if (typeof parent === "string") {
    return contextFromTraceparent(parent, activeContext()) ?? activeContext();
  }
  return parent ?? activeContext();
}
