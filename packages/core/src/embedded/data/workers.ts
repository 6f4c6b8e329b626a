// Worker registry: registration, heartbeats with vitals, discovery and stale
// detection by `lastCallHome`.
import { randomUUID } from "node:crypto";
import { paginate } from "../../data/cursor.js";
import { previewValue } from "../../data/json.js";
import { parseInput, workerRegistrationSchema, workerStatusSchema, workerVitalsSchema } from "../../data/validation.js";
import { InvalidTransitionError, ValidationError } from "../../errors.js";
import type { WorkerRecord, WorkerRegistryModule, WorkerStatus, WorkerVitals } from "../../roles/data/workers.js";
import { currentTenantId } from "../../tenant.js";
import { type Clock, TenantCollection, assertId, errorContext, newStoredFields, notFound } from "./store.js";

/** Vitals kept per worker; older entries are dropped first. */
export const MAX_VITALS_PER_WORKER = 100;

/** Statuses of a worker that is expected to call home, and so can go stale. */
const LIVE_STATUSES: readonly WorkerStatus[] = ["starting", "running", "draining"];

export function createMemoryWorkers(clock: Clock): WorkerRegistryModule {
  const workers = new TenantCollection<WorkerRecord>("Worker");
  const vitalsByWorker = new Map<string, WorkerVitals[]>();

  function vitalsKey(tenantId: string, workerId: string): string {
    return JSON.stringify([tenantId, workerId]);
  }

  function load(workerId: string): WorkerRecord {
    assertId(workerId, "worker id");
    const worker = workers.get(currentTenantId(), workerId);
    if (!worker) throw notFound("Worker", workerId);
    return worker;
  }

  function save(current: WorkerRecord, changes: Partial<WorkerRecord>, at: Date): WorkerRecord {
    return workers.replace(current.tenantId, { ...current, ...changes, version: current.version + 1, updatedAt: at.toISOString() });
  }

  return {
    /** Registering an id that exists replaces its registration and sets it back to starting, as after a restart. */
    async register(input) {
      const parsed = parseInput(workerRegistrationSchema, input, "worker registration", errorContext());
      const tenantId = currentTenantId();
      const now = clock.now();
      const id = parsed.id ?? randomUUID();
      const fields = {
        workerType: parsed.workerType,
        communityId: parsed.communityId,
        hostname: parsed.hostname,
        pid: parsed.pid,
        tasks: parsed.tasks,
        status: "starting" as const,
        lastCallHome: now.toISOString(),
        attributes: parsed.attributes ?? {},
      };

      const current = workers.get(tenantId, id);
      if (current) return save(current, fields, now);
      return workers.insert(tenantId, { ...newStoredFields(id, tenantId, now), ...fields });
    },

    /** Records vitals and moves a starting or stale worker to running; a stopped worker must register again. */
    async heartbeat(workerId, vitals) {
      const current = load(workerId);
      const parsed = parseInput(workerVitalsSchema, vitals, "worker vitals", errorContext());
      if (current.status === "stopped") {
        throw new InvalidTransitionError(`Worker "${workerId}" is stopped and cannot send heartbeats. Register it again to restart it.`, {
          ...errorContext(),
          details: { workerId, status: current.status },
        });
      }

      const now = clock.now();
      const key = vitalsKey(current.tenantId, workerId);
      const history = vitalsByWorker.get(key) ?? [];
      history.push({ workerId, tenantId: current.tenantId, at: now.toISOString(), ...parsed });
      if (history.length > MAX_VITALS_PER_WORKER) history.splice(0, history.length - MAX_VITALS_PER_WORKER);
      vitalsByWorker.set(key, history);

      const status = current.status === "starting" || current.status === "stale" ? "running" : current.status;
      return save(current, { status, lastCallHome: now.toISOString() }, now);
    },

    async setStatus(workerId, status) {
      const current = load(workerId);
      const next = parseInput(workerStatusSchema, status, "worker status", errorContext());
      if (current.status === next) return current;
      return save(current, { status: next }, clock.now());
    },

    async get(workerId) {
      assertId(workerId, "worker id");
      return workers.get(currentTenantId(), workerId) ?? null;
    },

    async discover(query = {}) {
      if (query.workerType !== undefined) assertId(query.workerType, "worker type");
      if (query.communityId !== undefined) assertId(query.communityId, "community id");
      const status = query.status === undefined ? undefined : parseInput(workerStatusSchema, query.status, "worker status", errorContext());

      const matches = workers.filter(
        currentTenantId(),
        (worker) =>
          (query.workerType === undefined || worker.workerType === query.workerType) &&
          (query.communityId === undefined || worker.communityId === query.communityId) &&
          (status === undefined || worker.status === status),
      );
      return paginate(matches, { scope: "workers:id", key: () => [], direction: "asc" }, query, errorContext());
    },

    /** Marks starting, running and draining workers whose last heartbeat is more than `staleAfterMs` before `now`. */
    async markStale(staleAfterMs, now) {
      if (!Number.isSafeInteger(staleAfterMs) || staleAfterMs <= 0) {
        throw new ValidationError(`Invalid staleAfterMs ${previewValue(staleAfterMs)}: expected a positive whole number of milliseconds.`, {
          ...errorContext(),
          details: { staleAfterMs: previewValue(staleAfterMs) },
        });
      }
      if (now !== undefined && (!(now instanceof Date) || Number.isNaN(now.getTime()))) {
        throw new ValidationError(`Invalid time ${previewValue(now)}: expected a valid Date.`, errorContext());
      }
      const at = now ?? clock.now();
      const cutoff = at.getTime() - staleAfterMs;

      const stale = workers.filter(
        currentTenantId(),
        (worker) => LIVE_STATUSES.includes(worker.status) && Date.parse(worker.lastCallHome) < cutoff,
      );
      return stale.map((worker) => save(worker, { status: "stale" }, at));
    },

    /** Newest first. */
    async vitals(workerId, options = {}) {
      assertId(workerId, "worker id");
      const limit = options.limit ?? MAX_VITALS_PER_WORKER;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_VITALS_PER_WORKER) {
        throw new ValidationError(`Invalid vitals limit ${previewValue(limit)}: expected an integer from 1 to ${MAX_VITALS_PER_WORKER}.`, {
          ...errorContext(),
          details: { limit: previewValue(limit) },
        });
      }
      const history = vitalsByWorker.get(vitalsKey(currentTenantId(), workerId)) ?? [];
      return history.slice(-limit).reverse().map((entry) => ({ ...entry }));
    },
  };
}
