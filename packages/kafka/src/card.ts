// Job cards as Kafka records: the JSON card is the value, the ordering key is
// the record key, and headers carry what the retry forwarder and the
// dead-letter reader need without parsing the value.
import { parseJobCard, type JobCard, type ParsedJobCard } from "@bridge/core";

/** Header names this package writes. */
export const HEADER = {
  /** Epoch ms at which a job in a retry topic is due. */
  dueAt: "bridge-due-at",
  reason: "bridge-reason",
  /** The serialized error, as JSON. */
  error: "bridge-error",
  attempts: "bridge-attempts",
  deadAt: "bridge-dead-at",
  task: "bridge-task",
  tenant: "bridge-tenant",
  /** `<topic>/<partition>/<offset>` of the record a dead letter came from. */
  source: "bridge-source",
  /** Marks a dead-letter topic record that is not a dead letter: `replayed` or `purged`. */
  control: "bridge-control",
  /** Dead-letter id of a dead letter or replay marker. */
  id: "bridge-id",
} as const;

export function encodeCard(job: JobCard): Buffer {
  return Buffer.from(JSON.stringify(job), "utf8");
}

/**
 * Parses a record value as a job card of `task`. A card of another task
 * counts as invalid, because it would run with the wrong handler.
 */
export function decodeCard(value: Buffer | null, task: string): ParsedJobCard {
  if (value === null) return { ok: false, reason: "the record has no value (a tombstone)" };
  const parsed = parseJobCard(value);
  if (parsed.ok && parsed.job.task !== task) {
    return { ok: false, reason: `task: expected "${task}", got "${parsed.job.task}"` };
  }
  return parsed;
}
