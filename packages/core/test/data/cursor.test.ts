import { describe, expect, it } from "vitest";
import { InvalidCursorError, decodeCursor, encodeCursor, paginate } from "../../src/data/cursor.js";

const spec = { scope: "test:id", key: () => [], direction: "asc" as const };

function collect<T extends { id: string }>(items: T[], limit: number, specOverride = spec): T[][] {
  const pages: T[][] = [];
  let cursor: string | null = null;
  do {
    const page: { items: T[]; nextCursor: string | null } = paginate(items, specOverride, { limit, cursor });
    pages.push(page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return pages;
}

describe("cursor", () => {
  it("round-trips a position", () => {
    const cursor = encodeCursor("scope", { key: ["2025-01-01T00:00:00.000Z", 3], id: "e1" });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor("scope", cursor)).toEqual({ key: ["2025-01-01T00:00:00.000Z", 3], id: "e1" });
  });

  it("rejects a tampered cursor", () => {
    const cursor = encodeCursor("scope", { key: [], id: "p10" });
    const body = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    body.i = "p99";
    const edited = Buffer.from(JSON.stringify(body)).toString("base64url");
    expect(() => decodeCursor("scope", edited)).toThrow(InvalidCursorError);
    expect(() => decodeCursor("scope", edited)).toThrow(/checksum does not match/);
  });

  it("rejects garbage, truncation and other scopes", () => {
    const cursor = encodeCursor("scope", { key: [], id: "p10" });
    expect(() => decodeCursor("scope", "not a cursor!")).toThrow(/not base64url/);
    expect(() => decodeCursor("scope", cursor.slice(0, -5))).toThrow(InvalidCursorError);
    expect(() => decodeCursor("other", cursor)).toThrow(/belongs to another query/);
    expect(() => decodeCursor("scope", "")).toThrow(InvalidCursorError);
    const error = (() => {
      try {
        decodeCursor("scope", "abc");
      } catch (caught) {
        return caught as InvalidCursorError;
      }
    })();
    expect(error?.code).toBe("VALIDATION_FAILED");
  });
});

describe("paginate", () => {
  const items = Array.from({ length: 23 }, (_, i) => ({ id: `item-${String(i).padStart(2, "0")}` }));

  it("sees every record once across pages", () => {
    const pages = collect(items, 5);
    expect(pages.map((page) => page.length)).toEqual([5, 5, 5, 5, 3]);
    const ids = pages.flat().map((item) => item.id);
    expect(ids).toEqual(items.map((item) => item.id));
    expect(new Set(ids).size).toBe(23);
  });

  it("has no duplicates or gaps when records are inserted between pages", () => {
    const store = items.slice(0, 10);
    const first = paginate(store, spec, { limit: 4 });
    expect(first.items.map((item) => item.id)).toEqual(["item-00", "item-01", "item-02", "item-03"]);

    // One insert sorts before the cursor and one after it; only the later one can appear.
    store.push({ id: "item-00a" }, { id: "zzz" });
    const seen = [...first.items];
    let cursor = first.nextCursor;
    while (cursor !== null) {
      const page: { items: Array<{ id: string }>; nextCursor: string | null } = paginate(store, spec, { limit: 4, cursor });
      seen.push(...page.items);
      cursor = page.nextCursor;
    }
    const ids = seen.map((item) => item.id);
    expect(ids).toEqual([...items.slice(0, 10).map((item) => item.id), "zzz"]);
  });

  it("sorts descending by key then id", () => {
    const rows = [
      { id: "a", at: "2025-01-01" },
      { id: "b", at: "2025-01-02" },
      { id: "c", at: "2025-01-02" },
      { id: "d", at: "2025-01-03" },
    ];
    const pages = collect(rows, 1, { scope: "rows:at", key: (row: { at: string }) => [row.at], direction: "desc" } as never);
    expect(pages.flat().map((row) => row.id)).toEqual(["d", "c", "b", "a"]);
  });

  it("returns a null cursor on the last page", () => {
    expect(paginate(items, spec, { limit: 23 }).nextCursor).toBeNull();
    expect(paginate([], spec).items).toEqual([]);
  });

  it("rejects invalid limits", () => {
    for (const limit of [0, -1, 1.5, 1001, Number.NaN, "10"]) {
      expect(() => paginate(items, spec, { limit: limit as number }), String(limit)).toThrow(/Invalid page limit/);
    }
  });
});
