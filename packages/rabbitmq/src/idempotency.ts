import type { JobCard } from "@bridge/core";

/**
 * Remembers the job published under each idempotency key, per tenant and
 * task, for `ttlMs`, holding at most `maxKeys` keys (the oldest go first).
 * NOTE: RabbitMQ has no deduplication of its own, so this record lives in the
 * publishing process: a key is not shared between processes and is forgotten
 * on restart, after `ttlMs`, or when more than `maxKeys` newer keys arrive.
 */
export class IdempotencyRecord {
  private readonly entries = new Map<string, { job: Promise<JobCard>; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys: number,
  ) {}

  /**
   * Returns the job already published under the key, or runs `publish` and
   * remembers its job. Concurrent calls with one key share the first publish;
   * a failed publish is forgotten so that the caller can try again.
   */
  async publishOnce<P>(tenantId: string, task: string, key: string, publish: () => Promise<JobCard<P>>): Promise<{ job: JobCard<P>; duplicate: boolean }> {
    const id = `${tenantId}\u0000${task}\u0000${key}`;
    const now = Date.now();
    const existing = this.entries.get(id);
    if (existing && existing.expiresAt > now) {
      return { job: (await existing.job) as JobCard<P>, duplicate: true };
    }

    const job = publish();
    this.entries.delete(id);
    this.entries.set(id, { job, expiresAt: now + this.ttlMs });
    this.evict(now);
    try {
      return { job: await job, duplicate: false };
    } catch (error) {
      if (this.entries.get(id)?.job === job) this.entries.delete(id);
      throw error;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(now: number): void {
    // Map keeps insertion order, so the first entries are the oldest.
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= this.maxKeys && entry.expiresAt > now) break;
      this.entries.delete(id);
    }
  }
}
