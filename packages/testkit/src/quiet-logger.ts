// A logs role that keeps entries in memory instead of printing them, for
// providers under test whose expected warnings would flood the test output.
import { createLogs, createMemoryLogSink, type LogsRole } from "@bridge/core";

export function quietLogger(): LogsRole {
  const sink = createMemoryLogSink({ stderr: false, capacity: 1_000 });
  return createLogs({ sinks: [sink], fallback: sink, minLevel: "warn" });
}
