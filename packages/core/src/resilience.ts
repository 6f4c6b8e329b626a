/**
 * Timeouts, retries with exponential backoff and jitter, and circuit breakers
 * around provider calls, built from cockatiel policies. Cockatiel is
 * maintained, has no dependencies and composes these three policies, so
 * Bridge only maps its errors to BridgeErrors.
 */
import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker as createCircuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  noop,
  retry,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from "cockatiel";
import { isBridgeError, TimeoutError, UnavailableError, ValidationError, type RoleName } from "./errors.js";
import type { Logger } from "./roles/logs.js";

export interface ResiliencePolicyOptions {
  /** Name of the guarded operation in errors and logs, such as "rabbitmq publish". Default "provider call". */
  name?: string;
  role?: RoleName;
  integration?: string;
  /** Time limit of each attempt in ms. No limit when absent. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 0. */
  retries?: number;
  /** Delay before the first retry and the largest delay, in ms. Defaults 100 and 10 000. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Fail fast after this many consecutive failures, for `halfOpenAfterMs`. Off when absent or false. */
  circuitBreaker?: { consecutiveFailures?: number; halfOpenAfterMs?: number } | false;
  /**
   * Whether an error is worth another attempt and counts against the circuit.
   * Default: every error except BridgeErrors whose `retryable` is false.
   */
  isRetryable?: (error: unknown) => boolean;
  /** Receives a warning on each retry and when the circuit opens or closes. */
  logger?: Logger;
}

export interface ResilienceCallContext {
  /** Aborted when the attempt times out or the caller's signal aborts. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
}

export type CircuitStatus = "closed" | "open" | "half-open" | "isolated";

export interface ResiliencePolicy {
  /**
   * Runs `fn` under the policy. Rejects with TimeoutError when the last
   * attempt timed out, UnavailableError while the circuit is open, otherwise
   * with the last error `fn` threw.
   */
  execute<T>(fn: (context: ResilienceCallContext) => Promise<T> | T, signal?: AbortSignal): Promise<T>;
  /** State of the circuit breaker, or "closed" when the policy has none. */
  readonly circuitState: CircuitStatus;
}

function defaultIsRetryable(error: unknown): boolean {
  return !isBridgeError(error) || error.retryable;
}

/** Builds a policy that applies, from the outside in: retry, circuit breaker, timeout per attempt. */
export function createResiliencePolicy(options: ResiliencePolicyOptions = {}): ResiliencePolicy {
  validateOptions(options);

  const name = options.name ?? "provider call";
  const context = { role: options.role, integration: options.integration };
  const isRetryable = options.isRetryable ?? defaultIsRetryable;
  const retries = options.retries ?? 0;
  const breakerOptions = options.circuitBreaker === false ? undefined : options.circuitBreaker;
  const consecutiveFailures = breakerOptions?.consecutiveFailures ?? 5;
  const halfOpenAfterMs = breakerOptions?.halfOpenAfterMs ?? 10_000;

  // Retrying while the circuit is open would only fail fast again, so BrokenCircuitError is never retried.
  const transient = handleWhen((error) => !isBrokenCircuitError(error) && isRetryable(error));

  const retryPolicy =
    retries > 0
      ? retry(transient, {
          maxAttempts: retries,
          backoff: new ExponentialBackoff({ initialDelay: options.backoff?.initialMs ?? 100, maxDelay: options.backoff?.maxMs ?? 10_000 }),
        })
      : undefined;
  retryPolicy?.onRetry((event) => {
    const err = "error" in event ? event.error : undefined;
    options.logger?.warn(`${name} failed on attempt ${event.attempt} of ${retries + 1}; retrying in ${Math.round(event.delay)} ms`, {
      ...context,
      err,
    });
  });

  let breaker: CircuitBreakerPolicy | undefined;
  if (breakerOptions !== undefined) {
    breaker = createCircuitBreaker(transient, {
      halfOpenAfter: halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(consecutiveFailures),
    });
    breaker.onBreak(() => {
      options.logger?.warn(
        `${name} circuit opened after ${consecutiveFailures} consecutive failures; calls fail fast for ${halfOpenAfterMs} ms`,
        context,
      );
    });
    breaker.onReset(() => {
      options.logger?.info(`${name} circuit closed again after a successful call`, context);
    });
  }

  const timeoutPolicy = options.timeoutMs !== undefined ? timeout(options.timeoutMs, TimeoutStrategy.Aggressive) : undefined;
  const policies = [retryPolicy, breaker, timeoutPolicy].filter((policy): policy is NonNullable<typeof policy> => policy !== undefined);
  const policy: IPolicy<{ signal: AbortSignal; attempt?: number }> =
    policies.length === 0
      ? noop
      : (wrap(...(policies as IPolicy<{ signal: AbortSignal }>[])) as IPolicy<{ signal: AbortSignal; attempt?: number }>);

  return {
    async execute<T>(fn: (callContext: ResilienceCallContext) => Promise<T> | T, signal?: AbortSignal): Promise<T> {
      let attempts = 0;
      try {
        return await policy.execute((policyContext) => {
          attempts += 1;
          return fn({ signal: policyContext.signal, attempt: attempts });
        }, signal);
      } catch (error) {
        throw translateError(error, signal, attempts);
      }
    },
    get circuitState(): CircuitStatus {
      return breaker === undefined ? "closed" : circuitStatus(breaker.state);
    },
  };

  function translateError(error: unknown, signal: AbortSignal | undefined, attempts: number): unknown {
    if (isBrokenCircuitError(error)) {
      const last = breaker?.lastFailure;
      const lastError = last !== undefined && "error" in last ? last.error : undefined;
      return new UnavailableError(
        `${name} is failing fast because its circuit is open after ${consecutiveFailures} consecutive failures` +
          `${lastError ? ` (last error: ${lastError.message})` : ""}. ` +
          `It lets a trial call through ${halfOpenAfterMs} ms after opening; check that ${
            options.integration ?? "the provider"
          } is reachable.`,
        { ...context, cause: lastError, details: { circuit: "open", consecutiveFailures, halfOpenAfterMs } },
      );
    }
    // Not cockatiel's isTaskCancelledError: in 3.2.1 it tests for the bulkhead error's marker.
    if (error instanceof TaskCancelledError && signal?.aborted !== true) {
      return new TimeoutError(
        `${name} timed out after ${options.timeoutMs} ms on attempt ${attempts} of ${retries + 1}: ` +
          "check that the server is reachable and not overloaded, or raise timeoutMs.",
        { ...context, cause: error, details: { timeoutMs: options.timeoutMs, attempts } },
      );
    }
    return error;
  }
}

function circuitStatus(state: CircuitState): CircuitStatus {
  switch (state) {
    case CircuitState.Open:
      return "open";
    case CircuitState.HalfOpen:
      return "half-open";
    case CircuitState.Isolated:
      return "isolated";
    default:
      return "closed";
  }
}

function validateOptions(options: ResiliencePolicyOptions): void {
  const problems: string[] = [];
  const checkInteger = (label: string, value: number | undefined, min: number): void => {
    if (value !== undefined && (!Number.isInteger(value) || value < min)) {
      problems.push(`${label} must be an integer of ${min} or more (got ${String(value)})`);
    }
  };

  checkInteger("timeoutMs", options.timeoutMs, 1);
  checkInteger("retries", options.retries, 0);
  checkInteger("backoff.initialMs", options.backoff?.initialMs, 0);
  checkInteger("backoff.maxMs", options.backoff?.maxMs, 0);
  if (options.circuitBreaker) {
    checkInteger("circuitBreaker.consecutiveFailures", options.circuitBreaker.consecutiveFailures, 1);
    checkInteger("circuitBreaker.halfOpenAfterMs", options.circuitBreaker.halfOpenAfterMs, 1);
  }

  if (problems.length > 0) {
    throw new ValidationError(`Invalid resilience policy for ${options.name ?? "provider call"}: ${problems.join("; ")}.`, {
      role: options.role,
      integration: options.integration,
      details: { problems },
    });
  }
}
