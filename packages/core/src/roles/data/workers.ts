import type { Page, PageRequest, Stored } from "./common.js";

export type WorkerStatus = "starting" | "running" | "draining" | "stopped" | "stale";

export interface WorkerRecord extends Stored {
  workerType: string;
  /** Group of workers that share queues, such as a deployment or region. */
  communityId: string;
  hostname: string;
  pid: number;
  tasks: string[];
  status: WorkerStatus;
  /** Last heartbeat, ISO 8601. */
  lastCallHome: string;
  attributes: Record<string, unknown>;
}

export interface WorkerVitals {
  workerId: string;
  tenantId: string;
  at: string;
  rssBytes: number;
  heapUsedBytes: number;
  inFlight: number;
  processed: number;
  failed: number;
}

export interface WorkerRegistryModule {
  register(input: Pick<WorkerRecord, "workerType" | "communityId" | "hostname" | "pid" | "tasks"> & { id?: string; attributes?: Record<string, unknown> }): Promise<WorkerRecord>;
  heartbeat(workerId: string, vitals: Omit<WorkerVitals, "workerId" | "tenantId" | "at">): Promise<WorkerRecord>;
  setStatus(workerId: string, status: WorkerStatus): Promise<WorkerRecord>;
  get(workerId: string): Promise<WorkerRecord | null>;
  discover(query: { workerType?: string; communityId?: string; status?: WorkerStatus } & PageRequest): Promise<Page<WorkerRecord>>;
  /** Marks workers whose last heartbeat is older than `staleAfterMs` as stale; returns them. */
  markStale(staleAfterMs: number, now?: Date): Promise<WorkerRecord[]>;
  vitals(workerId: string, options?: { limit?: number }): Promise<WorkerVitals[]>;
}
