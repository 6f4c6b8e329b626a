// Idempotency keys of this process. Kafka has no lookup by key, so the record
// is local and bounded: keys expire after a TTL and the oldest is dropped when
// it is full. Another process publishing the same key is not seen.
import type { JobCard } from "@bridge/core";

interface Entry {
  job: JobCard;
  expiresAt: number;
}

export class IdempotencyRecord {
  /** Keys in insertion order, which is also expiry order because the TTL is fixed. */
  private readonly entries = new Map<string, Entry>();
  /** Publishes with a key still in flight, so a concurrent second publish waits for the first. */
  private readonly inFlight = new Map<string, Promise<JobCard>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Runs `publish` unless the key was used for this tenant and task within the
   * TTL; then returns the first job and `duplicate: true`.
   */
  async publishOnce(tenantId: string, task: string, key: string, publish: () => Promise<JobCard>): Promise<{ job: JobCard; duplicate: boolean }> {
    const id = `${tenantId}\u0000${task}\u0000${key}`;
    this.expire();
    const known = this.entries.get(id);
    if (known !== undefined) return { job: known.job, duplicate: true };
    const pending = this.inFlight.get(id);
    if (pending !== undefined) return { job: await pending, duplicate: true };

    const running = publish();
    this.inFlight.set(id, running);
    try {
      const job = await running;
      this.entries.set(id, { job, expiresAt: Date.now() + this.ttlMs });
      while (this.entries.size > this.maxKeys) {
        const oldest = this.entries.keys().next().value as string;
        this.entries.delete(oldest);
      }
      return { job, duplicate: false };
    } finally {
      this.inFlight.delete(id);
    }
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(id);
    }
  }
}
