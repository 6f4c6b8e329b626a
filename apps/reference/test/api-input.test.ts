import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/http/app.js";
import { skuOf, startWithSlice, type TestService } from "./support.js";

let ctx: TestService;
let sku: string;

beforeAll(async () => {
  ctx = await startWithSlice(40);
  sku = skuOf(ctx.products[0] as Record<string, unknown>);
});

afterAll(async () => {
  await ctx?.close();
});

interface ErrorAnswer {
  error: { code: string; message: string };
}

async function request(method: "GET" | "POST", url: string, payload?: unknown, headers: Record<string, string> = {}) {
  const response = await ctx.service.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  return { status: response.statusCode, body: response.json() as ErrorAnswer & Record<string, unknown> };
}

/** Sends a body exactly as given, with its own content type. */
async function raw(method: "POST", url: string, contentType: string, payload: string) {
  const response = await ctx.service.app.inject({ method, url, headers: { "content-type": contentType }, payload });
  return { status: response.statusCode, body: response.json() as { error: { code: string; message: string; details?: unknown } } & Record<string, unknown> };
}

async function createQuote(): Promise<string> {
  const created = await request("POST", "/api/quotes", { customerId: "acme-retail" });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

describe("product search input", () => {
  it("accepts a search without q", async () => {
    const answer = await request("GET", "/api/products/search");

    expect(answer.status).toBe(200);
    expect(answer.body.total).toBe(ctx.report.products.imported);
  });

  it.each([
    ["page=-1", "query.page", '"-1"'],
    ["page=0", "query.page", '"0"'],
    ["page=two", "query.page", '"two"'],
    ["pageSize=1000", "query.pageSize", '"1000"'],
    ["minPrice=abc", "query.minPrice", '"abc"'],
    ["maxPrice=-5", "query.maxPrice", '"-5"'],
    ["minPrice=1.999", "query.minPrice", '"1.999"'],
    ["minPrice=50&maxPrice=10", "query.minPrice", "at most maxPrice"],
    ["brand=a&brand=b", "query.brand", "single value"],
    ["inStock=maybe", "query.inStock", "true or false"],
  ])("rejects %s with 400", async (query, field, detail) => {
    const answer = await request("GET", `/api/products/search?${query}`);

    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("VALIDATION_FAILED");
    expect(answer.body.error.message).toContain(field);
    expect(answer.body.error.message).toContain(detail);
  });

  it("says what a bad price expects", async () => {
    const answer = await request("GET", "/api/products/search?minPrice=abc");

    expect(answer.body.error.message).toContain("expected an amount in dollars");
  });

  it("treats query syntax in q as text", async () => {
    const answer = await request("GET", `/api/products/search?q=${encodeURIComponent('brand:"Apple" OR 1=1 && {"$gt": ""}')}`);

    expect(answer.status).toBe(200);
  });

  it("rejects autocomplete without a prefix", async () => {
    const answer = await request("GET", "/api/products/autocomplete");

    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain("query.prefix");
  });
});

describe("product and warehouse lookups", () => {
  it("returns 404 for an unknown SKU", async () => {
    const answer = await request("GET", "/api/products/999999999");

    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("NOT_FOUND");
    expect(answer.body.error.message).toContain("999999999");
  });

  it("rejects a SKU with invalid characters", async () => {
    const answer = await request("GET", `/api/products/${encodeURIComponent("12;drop table")}`);

    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain("params.sku");
  });

  it.each([
    ["lat=200&lon=-93.2", "query.lat"],
    ["lat=44.9", "query.lon"],
    ["lat=north&lon=-93.2", "query.lat"],
    ["lat=44.9&lon=-93.2&radiusKm=0", "query.radiusKm"],
    ["lat=44.9&lon=-93.2&radiusKm=100000", "query.radiusKm"],
  ])("rejects warehouses near %s", async (query, field) => {
    const answer = await request("GET", `/api/warehouses/near?${query}`);

    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain(field);
  });
});

describe("quote input", () => {
  it("returns 404 for an unknown quote id", async () => {
    const answer = await request("GET", "/api/quotes/no-such-quote");

    expect(answer.status).toBe(404);
    expect(answer.body.error.message).toContain("no-such-quote");
  });

  it("returns 404 when pricing an unknown quote", async () => {
    const answer = await request("POST", "/api/quotes/no-such-quote/price");

    expect(answer.status).toBe(404);
  });

  it("rejects a quote without customerId", async () => {
    const answer = await request("POST", "/api/quotes", { email: "buyer@example.com" });

    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain("body.customerId");
    expect(answer.body.error.message).toContain("is required");
  });

  it("rejects an invalid email", async () => {
    const answer = await request("POST", "/api/quotes", { customerId: "acme", email: "not-an-email" });

    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain("body.email");
  });

  it("rejects an empty JSON body where fields are required", async () => {
    const answer = await raw("POST", "/api/quotes", "application/json", "");

    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("VALIDATION_FAILED");
    expect(answer.body.error.message).toContain("body.customerId: is required");
  });

  // "SKU" stands for a real SKU of the slice, so only the quantity is wrong.
  it.each<[Record<string, unknown>, string]>([
    [{ sku: "", quantity: 1 }, "body.sku"],
    [{ quantity: 1 }, "body.sku"],
    [{ sku: "SKU", quantity: 0 }, "body.quantity"],
    [{ sku: "SKU", quantity: -2 }, "body.quantity"],
    [{ sku: "SKU", quantity: 1.5 }, "body.quantity"],
    [{ sku: "SKU", quantity: "3" }, "body.quantity"],
    [{ sku: "SKU", quantity: 10_001 }, "body.quantity"],
  ])("rejects line %j with 400", async (line, field) => {
    const id = await createQuote();
    const body = { ...line, ...(line.sku === "SKU" ? { sku } : {}) };

    const answer = await request("POST", `/api/quotes/${id}/lines`, body);

    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain(field);
  });

  it("returns 404 for a line with an unknown SKU", async () => {
    const id = await createQuote();

    const answer = await request("POST", `/api/quotes/${id}/lines`, { sku: "123456789", quantity: 1 });

    expect(answer.status).toBe(404);
    expect(answer.body.error.message).toContain("123456789");
  });

  it("rejects pricing a quote without lines", async () => {
    const id = await createQuote();

    const answer = await request("POST", `/api/quotes/${id}/price`);

    expect(answer.status).toBe(409);
    expect(answer.body.error.message).toContain("no lines");
  });

  it("rejects submitting an unpriced draft", async () => {
    const id = await createQuote();
    await request("POST", `/api/quotes/${id}/lines`, { sku, quantity: 1 });

    const answer = await request("POST", `/api/quotes/${id}/submit`);

    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe("INVALID_TRANSITION");
    expect(answer.body.error.message).toContain("price it first");
  });

  it("rejects submitting a quote twice", async () => {
    const id = await createQuote();
    await request("POST", `/api/quotes/${id}/lines`, { sku: await inStockSku(), quantity: 1 });
    expect((await request("POST", `/api/quotes/${id}/price`)).status).toBe(200);
    expect((await request("POST", `/api/quotes/${id}/submit`)).status).toBe(200);

    const again = await request("POST", `/api/quotes/${id}/submit`);

    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("INVALID_TRANSITION");
    expect(again.body.error.message).toContain('"processing"');
  });

  it("rejects confirming without submit", async () => {
    const id = await createQuote();
    await request("POST", `/api/quotes/${id}/lines`, { sku, quantity: 1 });
    await request("POST", `/api/quotes/${id}/price`);

    const answer = await request("POST", `/api/quotes/${id}/confirm`);

    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe("INVALID_TRANSITION");
    expect(answer.body.error.message).toContain("submit it first");
  });

  it("rejects submitting more than the stock", async () => {
    const id = await createQuote();
    await request("POST", `/api/quotes/${id}/lines`, { sku, quantity: 5_000 });
    await request("POST", `/api/quotes/${id}/price`);

    const answer = await request("POST", `/api/quotes/${id}/submit`);

    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe("INSUFFICIENT_STOCK");
    const quote = await request("GET", `/api/quotes/${id}`);
    expect(quote.body.status).toBe("active");
  });

  it("rejects adding lines after submit", async () => {
    const id = await createQuote();
    const inStock = await inStockSku();
    await request("POST", `/api/quotes/${id}/lines`, { sku: inStock, quantity: 1 });
    await request("POST", `/api/quotes/${id}/price`);
    await request("POST", `/api/quotes/${id}/submit`);

    const answer = await request("POST", `/api/quotes/${id}/lines`, { sku: inStock, quantity: 1 });

    expect(answer.status).toBe(409);
    expect(answer.body.error.message).toContain("only draft or active");
  });
});

describe("request bodies", () => {
  it("accepts an empty JSON body on price, submit and confirm", async () => {
    const id = await createQuote();
    await request("POST", `/api/quotes/${id}/lines`, { sku: await inStockSku(), quantity: 1 });

    for (const [action, status] of [["price", "active"], ["submit", "processing"], ["confirm", "confirmed"]] as const) {
      const answer = await raw("POST", `/api/quotes/${id}/${action}`, "application/json", "");

      expect(answer.body.error?.code, action).toBeUndefined();
      expect(answer.status, action).toBe(200);
      expect(answer.body.status, action).toBe(status);
    }
  });

  it("accepts a body of {} on a route that takes none", async () => {
    const answer = await raw("POST", "/api/quotes/no-such-quote/price", "application/json", "{}");

    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("NOT_FOUND");
  });

  it("names the position of invalid JSON and what to send", async () => {
    const answer = await raw("POST", "/api/quotes", "application/json", "{customerId:");

    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("INVALID_JSON");
    expect(answer.body.error.message).toContain("Request body is not valid JSON");
    expect(answer.body.error.message).toContain("at position 1");
    expect(answer.body.error.message).toContain('{"customerId": "acme-retail"');
    expect(answer.body.error.details).toEqual({ position: 1 });
  });

  it("shows the line example for invalid JSON on lines", async () => {
    const id = await createQuote();

    const answer = await raw("POST", `/api/quotes/${id}/lines`, "application/json; charset=utf-8", '{"sku": "1", "quantity": 2');

    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("INVALID_JSON");
    expect(answer.body.error.message).toContain('{"sku": "4984700", "quantity": 2}');
  });

  it("says a route without a body takes none", async () => {
    const answer = await raw("POST", "/api/quotes/any-quote/submit", "application/json", "not json");

    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("INVALID_JSON");
    expect(answer.body.error.message).toContain("This route takes no body");
  });

  it("rejects a __proto__ key as invalid JSON", async () => {
    const answer = await raw("POST", "/api/quotes", "application/json", '{"customerId": "acme", "__proto__": {"admin": true}}');

    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("INVALID_JSON");
    expect(answer.body.error.message).toContain("__proto__");
  });

  it.each([
    ["application/x-www-form-urlencoded", "customerId=acme"],
    ["text/plain", '{"customerId": "acme"}'],
    ["application/xml", "<quote/>"],
  ])("rejects a %s body with 415", async (contentType, payload) => {
    const answer = await raw("POST", "/api/quotes", contentType, payload);

    expect(answer.status).toBe(415);
    expect(answer.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect(answer.body.error.message).toContain(contentType);
    expect(answer.body.error.message).toContain("content-type: application/json");
  });

  it("accepts an empty text/plain body on a route that takes none", async () => {
    const answer = await raw("POST", "/api/quotes/no-such-quote/price", "text/plain", "");

    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("NOT_FOUND");
  });

  it("rejects a body over the limit with 413", async () => {
    const answer = await raw("POST", "/api/quotes", "application/json", JSON.stringify({ customerId: "acme", note: "x".repeat(70 * 1024) }));

    expect(answer.status).toBe(413);
    expect(answer.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(answer.body.error.message).toContain("65536 bytes");
  });

  it("never answers with a Fastify error code", async () => {
    const answers = await Promise.all([
      raw("POST", "/api/quotes", "application/json", "{"),
      raw("POST", "/api/quotes", "application/json", ""),
      raw("POST", "/api/quotes", "text/plain", "hello"),
      raw("POST", "/api/quotes", "application/json", "x".repeat(70 * 1024)),
      raw("POST", "/api/quotes/q1/confirm", "application/json", ""),
    ]);

    for (const answer of answers) expect(answer.body.error?.code ?? "").not.toMatch(/^FST_/);
  });
});

describe("quote concurrency and expiry", () => {
  it("reserves once for concurrent submits", async () => {
    const id = await createQuote();
    const inStock = await inStockSku();
    await request("POST", `/api/quotes/${id}/lines`, { sku: inStock, quantity: 1 });
    await request("POST", `/api/quotes/${id}/price`);
    const before = await request("GET", `/api/products/${inStock}`);

    const answers = await Promise.all([request("POST", `/api/quotes/${id}/submit`), request("POST", `/api/quotes/${id}/submit`)]);

    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
    const after = await request("GET", `/api/products/${inStock}`);
    expect((after.body.availability as { reserved: number }).reserved).toBe((before.body.availability as { reserved: number }).reserved + 1);
  });

  it("cancels a quote whose reservation expired", async () => {
    const shortLived = buildApp({ bridge: ctx.service.bridge, quotes: { reservationTtlMs: 1 } });
    const call = async (method: "GET" | "POST", url: string, payload?: Record<string, unknown>) => {
      const response = await shortLived.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
      return { status: response.statusCode, body: response.json() as ErrorAnswer & Record<string, unknown> };
    };
    const inStock = await inStockSku();
    const created = await call("POST", "/api/quotes", { customerId: "acme-retail" });
    const id = created.body.id as string;
    await call("POST", `/api/quotes/${id}/lines`, { sku: inStock, quantity: 1 });
    await call("POST", `/api/quotes/${id}/price`);
    expect((await call("POST", `/api/quotes/${id}/submit`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const answer = await call("POST", `/api/quotes/${id}/confirm`);

    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe("RESERVATION_NOT_ACTIVE");
    expect(answer.body.error.message).toContain("create a new quote");
    expect((await call("GET", `/api/quotes/${id}`)).body.status).toBe("cancelled");
    await shortLived.close();
  });
});

describe("tenants and routing", () => {
  it("rejects an invalid tenant header", async () => {
    const answer = await request("GET", "/api/products/search", undefined, { "x-tenant-id": "../etc" });

    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain("header");
  });

  it("keeps tenants apart", async () => {
    const other = await request("GET", "/api/products/search", undefined, { "x-tenant-id": "tenant-b" });
    const quote = await request("POST", "/api/quotes", { customerId: "acme" });
    const fromOther = await request("GET", `/api/quotes/${quote.body.id as string}`, undefined, { "x-tenant-id": "tenant-b" });

    expect(other.status).toBe(200);
    expect(other.body.total).toBe(0);
    expect(fromOther.status).toBe(404);
  });

  it("answers unknown routes with a JSON 404", async () => {
    const answer = await request("GET", "/api/nothing-here");

    expect(answer.status).toBe(404);
    expect(answer.body.error.message).toContain("/api/nothing-here");
  });
});

/** Finds a SKU of the slice with at least 1 unit available in some warehouse. */
async function inStockSku(): Promise<string> {
  for (const record of ctx.products) {
    const candidate = skuOf(record);
    const answer = await request("GET", `/api/products/${candidate}`);
    const available = (answer.body.availability as { available: number } | undefined)?.available ?? 0;
    if (available > 0) return candidate;
  }
  throw new Error("no product of the slice is in stock");
}
