import { afterEach, describe, expect, it, vi } from "vitest";
import { isBridgeError, UnavailableError, ValidationError } from "../src/errors.js";
import { createResiliencePolicy } from "../src/resilience.js";
import type { Logger } from "../src/roles/logs.js";

afterEach(() => {
  vi.useRealTimers();
});

function recordingLogger(lines: string[]): Logger {
  const write = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  const logger: Logger = {
    trace: write("trace"),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    fatal: write("fatal"),
    child: () => logger,
  };
  return logger;
}

describe("resilience policy", () => {
  it("retries transient errors and logs each retry", async () => {
    const lines: string[] = [];
    const policy = createResiliencePolicy({
      name: "rabbitmq publish",
      retries: 3,
      backoff: { initialMs: 1, maxMs: 2 },
      logger: recordingLogger(lines),
    });
    const attempts: number[] = [];

    const result = await policy.execute(({ attempt }) => {
      attempts.push(attempt);
      if (attempt < 3) throw new Error("ECONNRESET");
      return "ok";
    });

    expect(result).toBe("ok");
    expect(attempts).toEqual([1, 2, 3]);
    expect(lines.filter((line) => line.startsWith("warn: rabbitmq publish failed on attempt"))).toHaveLength(2);
  });

  it("gives up after the retries with the last error", async () => {
    const policy = createResiliencePolicy({ retries: 2, backoff: { initialMs: 1, maxMs: 1 } });
    let calls = 0;

    await expect(
      policy.execute(() => {
        calls += 1;
        throw new Error(`failure ${calls}`);
      }),
    ).rejects.toThrow("failure 3");
    expect(calls).toBe(3);
  });

  it("does not retry errors marked not retryable", async () => {
    const policy = createResiliencePolicy({ retries: 5, backoff: { initialMs: 1, maxMs: 1 } });
    let calls = 0;

    await expect(
      policy.execute(() => {
        calls += 1;
        throw new ValidationError("invalid SKU");
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(calls).toBe(1);
  });

  it("times out an attempt and aborts its signal", async () => {
    const policy = createResiliencePolicy({ name: "opensearch bulk", integration: "opensearch", timeoutMs: 20 });
    let aborted = false;

    const error = await policy
      .execute(
        ({ signal }) =>
          new Promise((resolve) => {
            signal.addEventListener("abort", () => {
              aborted = true;
              setTimeout(resolve, 1000).unref();
            });
          }),
      )
      .catch((caught: unknown) => caught);

    expect(isBridgeError(error, "TIMEOUT")).toBe(true);
    expect((error as Error).message).toContain("opensearch bulk timed out after 20 ms");
    expect((error as { integration?: string }).integration).toBe("opensearch");
    expect(aborted).toBe(true);
  });

  it("opens the circuit after consecutive failures and fails fast", async () => {
    vi.useFakeTimers();
    const policy = createResiliencePolicy({ name: "mongodb find", circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 5000 } });
    let calls = 0;
    const failing = () => {
      calls += 1;
      throw new UnavailableError("connection refused");
    };

    await expect(policy.execute(failing)).rejects.toThrow("connection refused");
    await expect(policy.execute(failing)).rejects.toThrow("connection refused");
    expect(policy.circuitState).toBe("open");

    const fast = await policy.execute(failing).catch((caught: unknown) => caught);
    expect(calls).toBe(2);
    expect(isBridgeError(fast, "UNAVAILABLE")).toBe(true);
    expect((fast as Error).message).toContain("circuit is open after 2 consecutive failures (last error: connection refused)");

    vi.advanceTimersByTime(5000);
    expect(await policy.execute(() => "recovered")).toBe("recovered");
    expect(policy.circuitState).toBe("closed");
  });

  it("does not count invalid input against the circuit", async () => {
    const policy = createResiliencePolicy({ circuitBreaker: { consecutiveFailures: 1 } });

    await expect(
      policy.execute(() => {
        throw new ValidationError("bad filter");
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(policy.circuitState).toBe("closed");
  });

  it("rejects invalid options", () => {
    expect(() => createResiliencePolicy({ retries: -1 })).toThrow(/retries must be an integer of 0 or more \(got -1\)/);
    expect(() => createResiliencePolicy({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => createResiliencePolicy({ circuitBreaker: { consecutiveFailures: 0 } })).toThrow(/consecutiveFailures/);
  });
});
