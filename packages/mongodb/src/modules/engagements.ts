// Engagements in `engagements`, one event per change in `engagement_events`.
// An update is a replaceOne on { _id, tenantId, version }; its event carries the
// same version under a unique index, so each version has exactly one event.
import { randomUUID } from "node:crypto";
import {
  ValidationError,
  assertTransition,
  cloneRecord,
  diffFields,
  engagementPatchSchema,
  engagementQuerySchema,
  newEngagementSchema,
  parseInput,
  previewValue,
  type Engagement,
  type EngagementEvent,
  type EngagementPatch,
  type EngagementQuery,
  type EngagementStatus,
  type EngagementStore,
  type LineItem,
  type NewEngagement,
  type WriteOptions,
} from "@bridge/core";
import type { Document } from "mongodb";
import { TenantCollection } from "../collection.js";
import { assertId, errorContext, newStoredFields, resolveActor, type ModuleContext } from "./shared.js";
import { mutateRecord } from "./versioned.js";

const DEFAULT_UOM = "EA";

/** Fields whose changes are recorded in events; id, tenant, version and times are left out. */
const TRACKED_FIELDS = ["customerId", "type", "status", "lineItems", "pricing", "fulfillment", "attributes"] as const;

function trackedView(engagement: Engagement): Record<string, unknown> {
  return Object.fromEntries(TRACKED_FIELDS.map((field) => [field, engagement[field]]));
}

function withDefaultUom(items: LineItem[]): LineItem[] {
  return items.map((item) => ({ ...item, uom: item.uom ?? DEFAULT_UOM }));
}

export function createEngagements(context: ModuleContext): EngagementStore {
  const { store, now } = context;
  const engagements = new TenantCollection<Engagement>(store, "engagements", "Engagement");
  const events = new TenantCollection<EngagementEvent>(store, "engagement_events", "Engagement event");

  async function recordEvent(
    type: EngagementEvent["type"],
    engagement: Engagement,
    changes: EngagementEvent["changes"],
    actor: string | undefined,
    reason?: string,
  ): Promise<void> {
    const event: EngagementEvent = {
      id: randomUUID(),
      engagementId: engagement.id,
      tenantId: engagement.tenantId,
      version: engagement.version,
      type,
      actor: resolveActor(actor),
      at: engagement.updatedAt,
      changes,
      ...(reason === undefined ? {} : { reason }),
      snapshot: cloneRecord(engagement),
    };
    await events.insert(event, [engagement.id, String(engagement.version)]);
  }

  return {
    async create(input: NewEngagement, options: WriteOptions = {}) {
      const parsed = parseInput(newEngagementSchema, input, "engagement", errorContext(store));
      const tenantId = engagements.tenantId;

      const engagement: Engagement = {
        ...newStoredFields(parsed.id ?? randomUUID(), tenantId, now()),
        customerId: parsed.customerId,
        type: parsed.type,
        status: parsed.status ?? "draft",
        lineItems: withDefaultUom(parsed.lineItems ?? []),
        pricing: null,
        fulfillment: null,
        attributes: parsed.attributes ?? {},
      };
      const stored = await engagements.insert(engagement);

      // NOTE: a process that dies between these two writes leaves an engagement without its "created" event.
      await recordEvent("created", stored, diffFields({}, trackedView(stored)), options.actor);
      return stored;
    },

    async get(id) {
      assertId(store, id, "engagement id");
      return engagements.findById(id);
    },

    /** Each field in the patch replaces the stored field whole; a patch that changes nothing keeps the version. */
    async update(id: string, patch: EngagementPatch, options: WriteOptions = {}) {
      assertId(store, id, "engagement id");
      const parsed = parseInput(engagementPatchSchema, patch, "engagement patch", errorContext(store));

      const { record, previous, changed } = await mutateRecord(
        context,
        engagements,
        id,
        (current) => {
          const next: Engagement = { ...current };
          if (parsed.lineItems !== undefined) next.lineItems = withDefaultUom(parsed.lineItems);
          if (parsed.pricing !== undefined) next.pricing = parsed.pricing;
          if (parsed.fulfillment !== undefined) next.fulfillment = parsed.fulfillment;
          if (parsed.attributes !== undefined) next.attributes = parsed.attributes;
          if (parsed.customerId !== undefined) next.customerId = parsed.customerId;
          return diffFields(trackedView(current), trackedView(next)).length === 0 ? current : next;
        },
        { expectedVersion: options.expectedVersion },
      );

      if (changed) await recordEvent("updated", record, diffFields(trackedView(previous), trackedView(record)), options.actor);
      return record;
    },

    async transition(id: string, to: EngagementStatus, options: WriteOptions & { reason?: string } = {}) {
      assertId(store, id, "engagement id");
      if (options.reason !== undefined && (typeof options.reason !== "string" || options.reason.length > 1000)) {
        throw new ValidationError(`Invalid transition reason ${previewValue(options.reason)}: expected a string of at most 1000 characters.`, {
          ...errorContext(store),
          details: { engagementId: id },
        });
      }

      const { record, previous } = await mutateRecord(
        context,
        engagements,
        id,
        (current) => {
          assertTransition(current.status, to, { ...errorContext(store), details: { engagementId: id } });
          return { ...current, status: to };
        },
        { expectedVersion: options.expectedVersion },
      );

      await recordEvent("status_changed", record, [{ field: "status", from: previous.status, to }], options.actor, options.reason);
      return record;
    },

    /** Newest first by createdAt, then id. `createdFrom` is inclusive and `createdTo` exclusive. */
    async query(query: EngagementQuery) {
      const parsed = parseInput(engagementQuerySchema, query ?? {}, "engagement query", errorContext(store));
      const filter: Document = {};
      if (parsed.customerId !== undefined) filter.customerId = parsed.customerId;
      if (parsed.status !== undefined) filter.status = Array.isArray(parsed.status) ? { $in: parsed.status } : parsed.status;
      if (parsed.type !== undefined) filter.type = parsed.type;
      if (parsed.orderNumber !== undefined) filter["attributes.orderNumber"] = parsed.orderNumber;

      const createdAt: Document = {};
      if (parsed.createdFrom !== undefined) createdAt.$gte = new Date(parsed.createdFrom).toISOString();
      if (parsed.createdTo !== undefined) createdAt.$lt = new Date(parsed.createdTo).toISOString();
      if (Object.keys(createdAt).length > 0) filter.createdAt = createdAt;

      return engagements.page(filter, { scope: "engagements:createdAt:desc", fields: ["createdAt"], direction: "desc" }, parsed);
    },

    async history(id) {
      assertId(store, id, "engagement id");
      return events.find({ engagementId: id }, { sort: { version: 1 } });
    },

    async snapshotAt(id, version) {
      assertId(store, id, "engagement id");
      if (!Number.isSafeInteger(version) || version < 1) {
        throw new ValidationError(`Invalid engagement version ${String(version)}: expected an integer from 1 up.`, {
          ...errorContext(store),
          details: { engagementId: id, version },
        });
      }
      const event = await events.findOne({ engagementId: id, version });
      return event ? event.snapshot : null;
    },
  };
}
