import { createJobCard, parseJobCard } from "@bridge/core";
import { describe, expect, it } from "vitest";
import { decodeJobCard } from "../src/card.js";

const card = createJobCard("order.place", { engagementId: "eng-1" }, { idempotencyKey: "order-1" }, "shop-1");

function bytes(value: unknown): Buffer {
  return Buffer.from(typeof value === "string" ? value : JSON.stringify(value));
}

describe("decodeJobCard", () => {
  it("matches core's parser on each case", () => {
    const cases: Array<[string, unknown]> = [
      ["valid card", card],
      ["scheduled card", { ...card, scheduledFor: "2030-01-01T00:00:00.000Z" }],
      ["time with offset", { ...card, createdAt: "2025-01-31T12:00:00+01:00" }],
      ["impossible date", { ...card, createdAt: "2025-02-30T00:00:00.000Z" }],
      ["hour 25", { ...card, scheduledFor: "2025-01-01T25:00:00.000Z" }],
      ["hour 24", { ...card, scheduledFor: "2025-01-01T24:00:00.000Z" }],
      ["second 60", { ...card, createdAt: "2025-01-01T23:59:60.000Z" }],
      ["leap day", { ...card, createdAt: "2024-02-29T12:00:00.000Z" }],
      ["no leap day", { ...card, createdAt: "2100-02-29T12:00:00.000Z" }],
      ["month 13", { ...card, createdAt: "2025-13-01T12:00:00.000Z" }],
      ["day 31 in April", { ...card, createdAt: "2025-04-31T12:00:00.000Z" }],
      ["priority 11", { ...card, priority: 11 }],
      ["fractional attempts", { ...card, attempts: 1.5 }],
      ["missing tenant", { ...card, tenantId: undefined }],
      ["missing payload", { ...card, payload: undefined }],
      ["bad task name", { ...card, task: "order place" }],
      ["empty idempotency key", { ...card, idempotencyKey: "" }],
      ["previous error", { ...card, lastError: { name: "Error", message: "declined" } }],
      ["malformed previous error", { ...card, lastError: { message: 3 } }],
      ["array", [card]],
      ["number", 42],
      ["not JSON", "{not json"],
    ];
    for (const [name, value] of cases) {
      const fast = decodeJobCard(bytes(value));
      const full = parseJobCard(bytes(value));
      expect(fast, name).toEqual(full);
    }
  });

  it("drops unknown fields like the schema", () => {
    const decoded = decodeJobCard(bytes({ ...card, injected: "<script>" }));
    expect(decoded.ok).toBe(true);
    const job = decoded.ok ? (decoded.job as unknown as Record<string, unknown>) : {};
    expect(job).not.toHaveProperty("injected");
    expect(job).toHaveProperty("payload", card.payload);
  });

  it("rejects invalid UTF-8 inside a string", () => {
    const text = JSON.stringify({ ...card, payload: { note: "@@" } });
    const raw = Buffer.from(text);
    const at = raw.indexOf("@@");
    raw[at] = 0xc3;
    raw[at + 1] = 0x28;
    expect(decodeJobCard(raw)).toEqual(parseJobCard(raw));
    expect(decodeJobCard(raw).ok).toBe(false);
  });

  it("reports invalid UTF-8", () => {
    const decoded = decodeJobCard(Buffer.from([0xff, 0xfe, 0x7b]));
    expect(decoded.ok).toBe(false);
    expect(decoded.ok ? "" : decoded.reason).toContain("UTF-8");
  });
});
