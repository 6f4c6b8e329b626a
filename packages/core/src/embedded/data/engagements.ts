// Engagements (orders, quotes, carts) with an event per change. A database
// provider maps `update` to findOneAndUpdate on { _id, tenantId, version }
// and writes the event with the same version.
import { randomUUID } from "node:crypto";
import { paginate } from "../../data/cursor.js";
import { cloneRecord, diffFields, previewValue } from "../../data/json.js";
import { assertTransition } from "../../data/lifecycle.js";
import { engagementPatchSchema, engagementQuerySchema, newEngagementSchema, parseInput } from "../../data/validation.js";
import { ValidationError } from "../../errors.js";
import type { WriteOptions } from "../../roles/data/common.js";
import type {
  Engagement,
  EngagementEvent,
  EngagementPatch,
  EngagementQuery,
  EngagementStatus,
  EngagementStore,
  LineItem,
  NewEngagement,
} from "../../roles/data/engagements.js";
import { currentTenantId } from "../../tenant.js";
import { type Clock, TenantCollection, assertId, assertVersion, errorContext, newStoredFields, notFound, resolveActor } from "./store.js";

const DEFAULT_UOM = "EA";

/** Fields whose changes are recorded in events; id, tenant, version and times are left out. */
const TRACKED_FIELDS = ["customerId", "type", "status", "lineItems", "pricing", "fulfillment", "attributes"] as const;

function trackedView(engagement: Engagement): Record<string, unknown> {
  return Object.fromEntries(TRACKED_FIELDS.map((field) => [field, engagement[field]]));
}

function withDefaultUom(items: LineItem[]): LineItem[] {
  return items.map((item) => ({ ...item, uom: item.uom ?? DEFAULT_UOM }));
}

export function createMemoryEngagements(clock: Clock): EngagementStore {
  const engagements = new TenantCollection<Engagement>("Engagement");
  const events = new TenantCollection<EngagementEvent>("Engagement event");

  function recordEvent(
    type: EngagementEvent["type"],
    engagement: Engagement,
    changes: EngagementEvent["changes"],
    actor: string | undefined,
    reason?: string,
  ): void {
    const event: EngagementEvent = {
      id: randomUUID(),
      engagementId: engagement.id,
      tenantId: engagement.tenantId,
      version: engagement.version,
      type,
      actor: resolveActor(actor),
      at: engagement.updatedAt,
      changes,
      snapshot: cloneRecord(engagement),
      ...(reason === undefined ? {} : { reason }),
    };
    events.insert(engagement.tenantId, event);
  }

  function load(id: string): Engagement {
    const current = engagements.get(currentTenantId(), id);
    if (!current) throw notFound("Engagement", id);
    return current;
  }

  return {
    async create(input: NewEngagement, options: WriteOptions = {}) {
      const parsed = parseInput(newEngagementSchema, input, "engagement", errorContext());
      const tenantId = currentTenantId();

      const engagement: Engagement = {
        ...newStoredFields(parsed.id ?? randomUUID(), tenantId, clock.now()),
        customerId: parsed.customerId,
        type: parsed.type,
        status: parsed.status ?? "draft",
        lineItems: withDefaultUom(parsed.lineItems ?? []),
        pricing: null,
        fulfillment: null,
        attributes: parsed.attributes ?? {},
      };
      const stored = engagements.insert(tenantId, engagement);

      recordEvent("created", stored, diffFields({}, trackedView(stored)), options.actor);
      return stored;
    },

    async get(id) {
      assertId(id, "engagement id");
      return engagements.get(currentTenantId(), id) ?? null;
    },

    /** Each field in the patch replaces the stored field whole; a patch that changes nothing keeps the version. */
    async update(id: string, patch: EngagementPatch, options: WriteOptions = {}) {
      assertId(id, "engagement id");
      const parsed = parseInput(engagementPatchSchema, patch, "engagement patch", errorContext());
      const current = load(id);
      assertVersion("Engagement", id, options.expectedVersion, current.version);

      const next: Engagement = { ...current };
      if (parsed.lineItems !== undefined) next.lineItems = withDefaultUom(parsed.lineItems);
      if (parsed.pricing !== undefined) next.pricing = parsed.pricing;
      if (parsed.fulfillment !== undefined) next.fulfillment = parsed.fulfillment;
      if (parsed.attributes !== undefined) next.attributes = parsed.attributes;
      if (parsed.customerId !== undefined) next.customerId = parsed.customerId;

      const changes = diffFields(trackedView(current), trackedView(next));
      if (changes.length === 0) return current;

      next.version = current.version + 1;
      next.updatedAt = clock.now().toISOString();
      const stored = engagements.replace(current.tenantId, next);
      recordEvent("updated", stored, changes, options.actor);
      return stored;
    },

    async transition(id: string, to: EngagementStatus, options: WriteOptions & { reason?: string } = {}) {
      assertId(id, "engagement id");
      if (options.reason !== undefined && (typeof options.reason !== "string" || options.reason.length > 1000)) {
        throw new ValidationError(`Invalid transition reason ${previewValue(options.reason)}: expected a string of at most 1000 characters.`, {
          ...errorContext(),
          details: { engagementId: id },
        });
      }
      const current = load(id);
      assertVersion("Engagement", id, options.expectedVersion, current.version);
      assertTransition(current.status, to, { ...errorContext(), details: { engagementId: id } });

      const next: Engagement = { ...current, status: to, version: current.version + 1, updatedAt: clock.now().toISOString() };
      const stored = engagements.replace(current.tenantId, next);
      recordEvent("status_changed", stored, [{ field: "status", from: current.status, to }], options.actor, options.reason);
      return stored;
    },

    /** Newest first by createdAt, then id. `createdFrom` is inclusive and `createdTo` exclusive. */
    async query(query: EngagementQuery) {
      const parsed = parseInput(engagementQuerySchema, query ?? {}, "engagement query", errorContext());
      const statuses = parsed.status === undefined ? undefined : Array.isArray(parsed.status) ? parsed.status : [parsed.status];
      const from = parsed.createdFrom === undefined ? undefined : new Date(parsed.createdFrom).toISOString();
      const to = parsed.createdTo === undefined ? undefined : new Date(parsed.createdTo).toISOString();

      const matches = engagements.filter(currentTenantId(), (engagement) => {
        if (parsed.customerId !== undefined && engagement.customerId !== parsed.customerId) return false;
        if (statuses !== undefined && !statuses.includes(engagement.status)) return false;
        if (parsed.type !== undefined && engagement.type !== parsed.type) return false;
        if (from !== undefined && engagement.createdAt < from) return false;
        if (to !== undefined && engagement.createdAt >= to) return false;
        if (parsed.orderNumber !== undefined && engagement.attributes.orderNumber !== parsed.orderNumber) return false;
        return true;
      });

      return paginate(
        matches,
        { scope: "engagements:createdAt:desc", key: (engagement) => [engagement.createdAt], direction: "desc" },
        { limit: parsed.limit, cursor: parsed.cursor },
        errorContext(),
      );
    },

    async history(id) {
      assertId(id, "engagement id");
      return events.filter(currentTenantId(), (event) => event.engagementId === id).sort((a, b) => a.version - b.version);
    },

    async snapshotAt(id, version) {
      assertId(id, "engagement id");
      if (!Number.isSafeInteger(version) || version < 1) {
        throw new ValidationError(`Invalid engagement version ${String(version)}: expected an integer from 1 up.`, {
          ...errorContext(),
          details: { engagementId: id, version },
        });
      }
      const [event] = events.filter(currentTenantId(), (candidate) => candidate.engagementId === id && candidate.version === version);
      return event ? event.snapshot : null;
    },
  };
}
