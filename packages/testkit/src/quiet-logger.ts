import { createLogs, createMemoryLogSink, type LogsRole } from "@bridge/core";

/**
 * Creates a logger that keeps warnings and errors in memory (the newest 1000)
 * instead of printing them. Pass it to a provider under test: the queue
 * cases use short leases, fail jobs and send corrupt messages on purpose, so
 * a provider's expected warnings would otherwise flood the test output.
 * `query()` on the returned role reads the kept entries.
 */
export function quietLogger(): LogsRole {
  const sink = createMemoryLogSink({ stderr: false, capacity: 1_000 });
  return createLogs({ sinks: [sink], fallback: sink, minLevel: "warn" });
}
