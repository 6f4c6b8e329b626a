import { SpanStatusCode, trace, type Span, type SpanOptions, type Tracer, type TracerProvider } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { contextFromTraceparent, currentTraceparent, formatTraceparent, withSpan } from "../src/telemetry.js";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("traceparent", () => {
  it("round-trips through a context", () => {
    const context = contextFromTraceparent(TRACEPARENT);
    expect(context).toBeDefined();
    expect(currentTraceparent(context)).toBe(TRACEPARENT);
  });

  it("formats the sampled flag", () => {
    expect(formatTraceparent({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 0 })).toBe(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
    );
  });

  it.each([
    ["empty", ""],
    ["garbage", "not-a-traceparent"],
    ["upper-case hex", TRACEPARENT.toUpperCase()],
    ["all-zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"],
    ["all-zero span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"],
    ["version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    ["extra field on version 00", `${TRACEPARENT}-extra`],
    ["short trace id", "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01"],
  ])("ignores a %s value", (_label, value) => {
    expect(contextFromTraceparent(value)).toBeUndefined();
  });

  it("accepts a future version with extra fields", () => {
    const context = contextFromTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future");
    expect(currentTraceparent(context)).toBe(TRACEPARENT);
  });

  it("is undefined outside any span", () => {
    expect(currentTraceparent()).toBeUndefined();
  });
});

describe("withSpan", () => {
  it("continues a trace from a traceparent without an SDK", async () => {
    const inside = await withSpan("job process", {}, () => currentTraceparent(), { parent: TRACEPARENT });
    expect(inside?.split("-")[1]).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });

  it("keeps the trace across awaits", async () => {
    const inside = await withSpan(
      "job process",
      {},
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return currentTraceparent();
      },
      { parent: TRACEPARENT },
    );
    expect(inside?.split("-")[1]).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(currentTraceparent()).toBeUndefined();
  });

  it("falls back to the current context for a malformed parent", async () => {
    const inside = await withSpan("outer", {}, () => withSpan("inner", {}, () => currentTraceparent(), { parent: "garbage" }), {
      parent: TRACEPARENT,
    });
    expect(inside?.split("-")[1]).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });

  it("records errors on the span and rethrows them", async () => {
    const recorded = installRecordingTracer();

    await expect(withSpan("order.place process", { "bridge.tenant": "tenant-a" }, () => Promise.reject(new Error("boom")))).rejects.toThrow(
      "boom",
    );
    const value = await withSpan("order.place process", {}, () => 42);

    expect(value).toBe(42);
    expect(recorded).toHaveLength(2);
    expect(recorded[0]).toMatchObject({
      name: "order.place process",
      attributes: { "bridge.tenant": "tenant-a" },
      ended: true,
      status: SpanStatusCode.ERROR,
    });
    expect(recorded[0]?.exceptions).toEqual(["boom"]);
    expect(recorded[1]).toMatchObject({ ended: true, status: undefined, exceptions: [] });
  });
});

interface RecordedSpan {
  name: string;
  attributes: SpanOptions["attributes"];
  ended: boolean;
  status: SpanStatusCode | undefined;
  exceptions: string[];
}

/** Installs a minimal tracer provider that records span calls; this test file runs in its own worker, so the global does not leak. */
function installRecordingTracer(): RecordedSpan[] {
  const recorded: RecordedSpan[] = [];
  const tracer: Tracer = {
    startSpan(name, options = {}) {
      const record: RecordedSpan = { name, attributes: options.attributes, ended: false, status: undefined, exceptions: [] };
      recorded.push(record);
      const span = trace.wrapSpanContext({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1 });
      return Object.assign(Object.create(span) as Span, {
        end: () => void (record.ended = true),
        setStatus: (status: { code: SpanStatusCode }) => {
          record.status = status.code;
          return span;
        },
        recordException: (exception: unknown) =>
          void record.exceptions.push(exception instanceof Error ? exception.message : String(exception)),
      });
    },
    startActiveSpan: (() => {
      throw new Error("not used by withSpan");
    }) as Tracer["startActiveSpan"],
  };
  const provider: TracerProvider = { getTracer: () => tracer };
  trace.setGlobalTracerProvider(provider);
  return recorded;
}
