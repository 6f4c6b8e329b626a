// Worker registry in `workers` and heartbeat vitals in `worker_vitals`.
// Discovery and stale detection use the indexes on communityId + status,
// lastCallHome and workerType.
import { randomUUID } from "node:crypto";
import {
  InvalidTransitionError,
  ValidationError,
  parseInput,
  previewValue,
  workerRegistrationSchema,
  workerStatusSchema,
  workerVitalsSchema,
  type WorkerRecord,
  type WorkerRegistryModule,
  type WorkerStatus,
  type WorkerVitals,
} from "@bridge/core";
import type { Document } from "mongodb";
import { TenantCollection } from "../collection.js";
import { assertId, assertOptionalDate, errorContext, newStoredFields, resolveLimit, sequenceKey, type ModuleContext } from "./shared.js";
import { mutateRecord, recordLock } from "./versioned.js";

/** Vitals kept per worker; older entries are deleted after each heartbeat. */
export const MAX_VITALS_PER_WORKER = 100;

/** Statuses of a worker that is expected to call home, and so can go stale. */
const LIVE_STATUSES: readonly WorkerStatus[] = ["starting", "running", "draining"];

interface StoredVitals extends WorkerVitals {
  id: string;
  /** Orders vitals newest first; see sequenceKey. */
  seq: string;
}

export function createWorkers(context: ModuleContext): WorkerRegistryModule {
  const { store, now } = context;
  const workers = new TenantCollection<WorkerRecord>(store, "workers", "Worker");
  const vitals = new TenantCollection<StoredVitals>(store, "worker_vitals", "Worker vitals");

  async function trimVitals(workerId: string): Promise<void> {
    const newest = await vitals.find({ workerId }, { sort: { seq: -1 }, limit: MAX_VITALS_PER_WORKER + 1, projection: { id: 1 } });
    if (newest.length > MAX_VITALS_PER_WORKER) {
      await vitals.deleteMany({ workerId, _id: { $nin: newest.slice(0, MAX_VITALS_PER_WORKER).map((entry) => vitals.key(entry.id)) } });
    }
  }

  return {
    /** Registering an id that exists replaces its registration and sets it back to starting, as after a restart. */
    async register(input) {
      const parsed = parseInput(workerRegistrationSchema, input, "worker registration", errorContext(store));
      const id = parsed.id ?? randomUUID();
      const at = now();
      const fields = {
        workerType: parsed.workerType,
        communityId: parsed.communityId,
        hostname: parsed.hostname,
        pid: parsed.pid,
        tasks: parsed.tasks,
        status: "starting" as const,
        lastCallHome: at.toISOString(),
        attributes: parsed.attributes ?? {},
      };

      return store.exclusive(`${recordLock(workers, id)}#register`, async () => {
        if (await workers.findById(id)) {
          const { record } = await mutateRecord(context, workers, id, (current) => ({ ...current, ...fields }));
          return record;
        }
        return workers.insert({ ...newStoredFields(id, workers.tenantId, at), ...fields });
      });
    },

    /** Records vitals and moves a starting or stale worker to running; a stopped worker must register again. */
    async heartbeat(workerId, input) {
      assertId(store, workerId, "worker id");
      const parsed = parseInput(workerVitalsSchema, input, "worker vitals", errorContext(store));
      const at = now();

      const { record } = await mutateRecord(context, workers, workerId, (current) => {
        if (current.status === "stopped") {
          throw new InvalidTransitionError(`Worker "${workerId}" is stopped and cannot send heartbeats. Register it again to restart it.`, {
            ...errorContext(store),
            details: { workerId, status: current.status },
          });
        }
        const status = current.status === "starting" || current.status === "stale" ? "running" : current.status;
        return { ...current, status, lastCallHome: at.toISOString() };
      });

      await vitals.insert({ id: randomUUID(), seq: sequenceKey(at), workerId, tenantId: vitals.tenantId, at: at.toISOString(), ...parsed });
      await trimVitals(workerId);
      return record;
    },

    async setStatus(workerId, status) {
      assertId(store, workerId, "worker id");
      const next = parseInput(workerStatusSchema, status, "worker status", errorContext(store));
      const { record } = await mutateRecord(context, workers, workerId, (current) => (current.status === next ? current : { ...current, status: next }));
      return record;
    },

    async get(workerId) {
      assertId(store, workerId, "worker id");
      return workers.findById(workerId);
    },

    async discover(query = {}) {
      if (query.workerType !== undefined) assertId(store, query.workerType, "worker type");
      if (query.communityId !== undefined) assertId(store, query.communityId, "community id");
      const status = query.status === undefined ? undefined : parseInput(workerStatusSchema, query.status, "worker status", errorContext(store));

      const filter: Document = {};
      if (query.workerType !== undefined) filter.workerType = query.workerType;
      if (query.communityId !== undefined) filter.communityId = query.communityId;
      if (status !== undefined) filter.status = status;
      return workers.page(filter, { scope: "workers:id", fields: [], direction: "asc" }, query);
    },

    /** Marks starting, running and draining workers whose last heartbeat is more than `staleAfterMs` before `now`. */
    async markStale(staleAfterMs, when) {
      if (!Number.isSafeInteger(staleAfterMs) || staleAfterMs <= 0) {
        throw new ValidationError(`Invalid staleAfterMs ${previewValue(staleAfterMs)}: expected a positive whole number of milliseconds.`, {
          ...errorContext(store),
          details: { staleAfterMs: previewValue(staleAfterMs) },
        });
      }
      assertOptionalDate(store, when, "time");
      const at = when ?? now();
      const cutoff = new Date(at.getTime() - staleAfterMs).toISOString();

      const candidates = await workers.find({ status: { $in: [...LIVE_STATUSES] }, lastCallHome: { $lt: cutoff } }, { sort: { id: 1 } });
      const marked: WorkerRecord[] = [];
      for (const candidate of candidates) {
        try {
          // Re-checked inside the write, so a heartbeat that lands meanwhile keeps the worker live.
          const { record, changed } = await mutateRecord(context, workers, candidate.id, (current) =>
            LIVE_STATUSES.includes(current.status) && current.lastCallHome < cutoff ? { ...current, status: "stale" as const } : current,
          );
          if (changed) marked.push(record);
        } catch (error) {
          if (!(error instanceof Error && "code" in error && error.code === "NOT_FOUND")) throw error;
        }
      }
      return marked;
    },

    /** Newest first. */
    async vitals(workerId, options = {}) {
      assertId(store, workerId, "worker id");
      const limit = resolveLimit(store, options.limit, MAX_VITALS_PER_WORKER, MAX_VITALS_PER_WORKER, "vitals");
      const rows = await vitals.find({ workerId }, { sort: { seq: -1 }, limit });
      return rows.map(({ id: _id, seq: _seq, ...entry }) => entry);
    },
  };
}
