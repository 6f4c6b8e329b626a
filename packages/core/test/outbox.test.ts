import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createOutboxEmail, createOutboxSms, readOutbox, type OutboxEmailRecord, type OutboxSmsRecord } from "../src/embedded/outbox.js";
import { isBridgeError, type BridgeError } from "../src/errors.js";
import type { EmailRole } from "../src/roles/messaging.js";
import { runWithTenant } from "../src/tenant.js";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bridge-outbox-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function caught(promise: Promise<unknown>): Promise<BridgeError> {
  try {
    await promise;
  } catch (error) {
    if (isBridgeError(error)) return error;
    throw error;
  }
  throw new Error("expected the call to throw a BridgeError");
}

function messageFiles(folder: string): string[] {
  return readdirSync(folder).filter((name) => !name.startsWith(".")).sort();
}

function emailRole(): EmailRole {
  const email = createOutboxEmail({ dir, from: "Shop <shop@example.com>" });
  email.registerTemplate("order-confirmed", {
    subject: "Order {{ order.number }} confirmed",
    text: "Hello {{ name }}, your order {{ order.number }} totals {{ total }}.",
    html: "<p>Hello {{ name }}, your order <b>{{ order.number }}</b> totals {{ total }}.</p>",
  });
  return email;
}

describe("outbox email", () => {
  it("writes an eml and its metadata", async () => {
    const email = emailRole();
    const result = await email.send({
      to: ["ada@example.com", "Grace Hopper <grace@example.org>"],
      subject: "Your receipt",
      text: "Plain body",
      html: "<p>HTML body</p>",
      tags: ["receipt", "order"],
    });

    expect(result).toMatchObject({ provider: "outbox", status: "sent", duplicate: false });
    expect(messageFiles(dir)).toEqual([`${result.id}.eml`, `${result.id}.json`]);

    const eml = readFileSync(join(dir, `${result.id}.eml`), "utf8");
    expect(eml).toMatch(/^From: Shop <shop@example\.com>\r$/m);
    expect(eml).toMatch(/^To: ada@example\.com, Grace Hopper <grace@example\.org>\r$/m);
    expect(eml).toMatch(/^Subject: Your receipt\r$/m);
    expect(eml).toMatch(/^Message-ID: <.+@example\.com>\r$/m);
    expect(eml).toMatch(/^X-Bridge-Tags: receipt, order\r$/m);
    expect(eml).toContain("Content-Type: multipart/alternative");
    expect(eml).toContain("Content-Type: text/plain");
    expect(eml).toContain("Content-Type: text/html");
    expect(eml).toContain("Plain body");

    const [record] = (await readOutbox(dir)) as OutboxEmailRecord[];
    expect(record?.kind).toBe("email");
    expect(record?.id).toBe(result.id);
    expect(record?.to).toEqual(["ada@example.com", "Grace Hopper <grace@example.org>"]);
    expect(record?.tags).toEqual(["receipt", "order"]);
    expect(record?.tenantId).toBe("default");
    expect(readFileSync(record!.emlFile, "utf8")).toBe(eml);
  });

  it("attachments become MIME parts", async () => {
    const email = emailRole();
    const pdf = new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x34, 0x00, 0xff]);
    const result = await email.send({
      to: "ada@example.com",
      subject: "Invoice",
      text: "Invoice attached",
      attachments: [
        { filename: "invoice.pdf", content: pdf, contentType: "application/pdf" },
        { filename: "notes.txt", content: "line one" },
      ],
    });

    const eml = readFileSync(join(dir, `${result.id}.eml`), "utf8");
    expect(eml).toContain("Content-Type: multipart/mixed");
    expect(eml).toMatch(/Content-Type: application\/pdf; name=invoice\.pdf/);
    expect(eml).toMatch(/Content-Disposition: attachment; filename=invoice\.pdf/);
    expect(eml).toContain(Buffer.from(pdf).toString("base64"));
    expect(eml).toMatch(/filename=notes\.txt/);

    const [record] = (await readOutbox(dir)) as OutboxEmailRecord[];
    expect(record?.attachments).toEqual([
      { filename: "invoice.pdf", contentType: "application/pdf", size: 10 },
      { filename: "notes.txt", contentType: null, size: 8 },
    ]);
  });

  it("renders templates with escaped HTML", async () => {
    const email = emailRole();
    await email.send({
      to: "ada@example.com",
      template: { name: "order-confirmed", variables: { name: "Ada <script>", order: { number: "A-100" }, total: 4250 } },
    });

    const [record] = (await readOutbox(dir)) as OutboxEmailRecord[];
    expect(record?.subject).toBe("Order A-100 confirmed");
    expect(record?.text).toBe("Hello Ada <script>, your order A-100 totals 4250.");
    expect(record?.html).toBe("<p>Hello Ada &lt;script&gt;, your order <b>A-100</b> totals 4250.</p>");
    expect(record?.template).toBe("order-confirmed");
  });

  it("missing template variable is permanent", async () => {
    const email = emailRole();
    const error = await caught(email.send({ to: "ada@example.com", template: { name: "order-confirmed", variables: { name: "Ada" } } }));
    expect(error.code).toBe("PERMANENT_DELIVERY_FAILURE");
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("order.number, total");
    expect(messageFiles(dir)).toEqual([]);
  });

  it("template variables are own properties", async () => {
    const email = createOutboxEmail({ dir });
    email.registerTemplate("probe", { subject: "Probe", text: "{{ constructor }} {{ toString }}" });
    const error = await caught(email.send({ to: "ada@example.com", template: { name: "probe", variables: {} } }));
    expect(error.message).toContain("missing variables constructor, toString");

    const objectValue = await caught(email.send({ to: "ada@example.com", template: { name: "probe", variables: { constructor: { a: 1 }, toString: "x" } } }));
    expect(objectValue.message).toContain("got objects for variables constructor");
  });

  it("unknown template is permanent", async () => {
    const email = emailRole();
    const error = await caught(email.send({ to: "ada@example.com", template: { name: "welcome", variables: {} } }));
    expect(error.code).toBe("PERMANENT_DELIVERY_FAILURE");
    expect(error.message).toContain('Template "welcome" is not registered (registered: order-confirmed)');
  });

  it("bad templates are rejected", () => {
    const email = createOutboxEmail({ dir });
    expect(() => email.registerTemplate("", { text: "x" })).toThrow(/Template name/);
    expect(() => email.registerTemplate("empty", {})).toThrow(/needs subject, text or html/);
    expect(() => email.registerTemplate("number", { text: 5 as never })).toThrow(/as strings/);
  });

  it("required fields are checked", async () => {
    const email = emailRole();
    const cases: Array<[object, string]> = [
      [{ subject: "Hi", text: "x" }, "to is missing"],
      [{ to: [], subject: "Hi", text: "x" }, "to is missing"],
      [{ to: "ada@example.com", text: "x" }, "subject is missing"],
      [{ to: "ada@example.com", subject: "  ", text: "x" }, "subject is missing"],
      [{ to: "ada@example.com", subject: "Hi" }, "body is missing"],
      [{ to: "ada@example.com", subject: "Hi", text: "", html: "" }, "body is missing"],
    ];
    for (const [message, expected] of cases) {
      const error = await caught(email.send(message as never));
      expect(error.code, JSON.stringify(message)).toBe("PERMANENT_DELIVERY_FAILURE");
      expect(error.message).toContain(expected);
    }
    expect(messageFiles(dir)).toEqual([]);
  });

  it("invalid addresses are permanent", async () => {
    const email = emailRole();
    const addresses = ["not-an-email", "ada@", "@example.com", "ada@example", "ada@example.com\r\nBcc: eve@example.com", "Ada <ada>", "a b@example.com"];
    for (const to of addresses) {
      const error = await caught(email.send({ to, subject: "Hi", text: "x" }));
      expect(error.code, to).toBe("PERMANENT_DELIVERY_FAILURE");
      expect(error.message).toContain("is invalid");
    }
    const badCc = await caught(email.send({ to: "ada@example.com", cc: ["nope"], subject: "Hi", text: "x" }));
    expect(badCc.message).toContain('cc address "nope" is invalid');
    expect(() => createOutboxEmail({ dir, from: "nobody" })).toThrow(/Invalid from "nobody"/);
  });

  it("header injection is rejected", async () => {
    const email = emailRole();
    const subject = await caught(email.send({ to: "ada@example.com", subject: "Hi\r\nBcc: eve@example.com", text: "x" }));
    expect(subject.message).toContain("line break");
    const header = await caught(email.send({ to: "ada@example.com", subject: "Hi", text: "x", headers: { "X-Order": "1\r\nBcc: eve@example.com" } }));
    expect(header.code).toBe("PERMANENT_DELIVERY_FAILURE");
    const attachment = await caught(email.send({ to: "ada@example.com", subject: "Hi", text: "x", attachments: [{ filename: "../../etc/passwd", content: "x" }] }));
    expect(attachment.message).toContain("without slashes");
    const tags = await caught(email.send({ to: "ada@example.com", subject: "Hi", text: "x", tags: ["a,b"] }));
    expect(tags.message).toContain("tags");
    expect(messageFiles(dir)).toEqual([]);
  });

  it("idempotency key sends once", async () => {
    const email = emailRole();
    const message = { to: "ada@example.com", subject: "Order confirmed", text: "Thanks", idempotencyKey: "order-100-confirmation" };
    const first = await email.send(message);
    const second = await email.send({ ...message, text: "Changed body" });

    expect(first.duplicate).toBe(false);
    expect(second).toEqual({ ...first, duplicate: true });
    expect(messageFiles(dir)).toHaveLength(2);
    const records = await readOutbox(dir);
    expect(records).toHaveLength(1);
    expect((records[0] as OutboxEmailRecord).text).toBe("Thanks");
  });

  it("idempotency survives a restart", async () => {
    const message = { to: "ada@example.com", subject: "Order confirmed", text: "Thanks", idempotencyKey: "order-101" };
    const first = await createOutboxEmail({ dir }).send(message);
    const afterRestart = await createOutboxEmail({ dir }).send(message);
    expect(afterRestart.duplicate).toBe(true);
    expect(afterRestart.id).toBe(first.id);
    expect(await readOutbox(dir)).toHaveLength(1);
  });

  it("concurrent sends with one key write once", async () => {
    const email = emailRole();
    const message = { to: "ada@example.com", subject: "Order confirmed", text: "Thanks", idempotencyKey: "order-102" };
    const results = await Promise.all([email.send(message), email.send(message), email.send(message)]);
    expect(new Set(results.map((result) => result.id)).size).toBe(1);
    expect(results.filter((result) => !result.duplicate)).toHaveLength(1);
    expect(await readOutbox(dir)).toHaveLength(1);
  });

  it("idempotency keys are per tenant", async () => {
    const email = emailRole();
    const message = { to: "ada@example.com", subject: "Welcome", text: "Hi", idempotencyKey: "welcome-1" };
    const acme = await runWithTenant("acme", () => email.send(message));
    const globex = await runWithTenant("globex", () => email.send(message));
    expect(acme.duplicate).toBe(false);
    expect(globex.duplicate).toBe(false);
    const records = await readOutbox(dir);
    expect(records.map((record) => record.tenantId).sort()).toEqual(["acme", "globex"]);
  });

  it("interrupted send is finished", async () => {
    // A key file whose message files are missing: the process stopped between the two writes.
    const hash = createHash("sha256").update("default\norder-103").digest("hex");
    mkdirSync(join(dir, ".idempotency"), { recursive: true });
    const claim = { id: "2024-01-01T00-00-00-000Z-deadbeef", tenantId: "default", createdAt: "2024-01-01T00:00:00.000Z" };
    writeFileSync(join(dir, ".idempotency", `${hash}.json`), JSON.stringify(claim));

    const email = emailRole();
    const message = { to: "ada@example.com", subject: "Order confirmed", text: "Thanks", idempotencyKey: "order-103" };
    const finished = await email.send(message);
    expect(finished).toMatchObject({ id: claim.id, duplicate: false });
    expect(messageFiles(dir)).toEqual([`${claim.id}.eml`, `${claim.id}.json`]);
    expect((await email.send(message)).duplicate).toBe(true);
  });

  it("bad idempotency key is rejected", async () => {
    const email = emailRole();
    for (const idempotencyKey of ["", "k".repeat(256)]) {
      const error = await caught(email.send({ to: "ada@example.com", subject: "Hi", text: "x", idempotencyKey }));
      expect(error.message).toContain("idempotencyKey");
    }
  });

  it("unwritable folder is retryable", async () => {
    const file = join(dir, "not-a-folder");
    writeFileSync(file, "");
    const email = createOutboxEmail({ dir: join(file, "outbox") });
    const error = await caught(email.send({ to: "ada@example.com", subject: "Hi", text: "x" }));
    expect(error.code).toBe("RETRYABLE_DELIVERY_FAILURE");
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("not-a-folder");
  });

  it("leaves no temporary files", async () => {
    const email = emailRole();
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => email.send({ to: "ada@example.com", subject: `Hi ${i}`, text: "x", idempotencyKey: `k-${i}` })),
    );
    const leftovers = [...readdirSync(dir), ...readdirSync(join(dir, ".idempotency"))].filter((name) => name.startsWith(".tmp-"));
    expect(leftovers).toEqual([]);
    expect(await readOutbox(dir)).toHaveLength(5);
  });

  it("missing folder reads empty", async () => {
    expect(await readOutbox(join(dir, "never-written"))).toEqual([]);
  });
});

describe("outbox sms", () => {
  it("writes one json per message", async () => {
    const sms = createOutboxSms({ dir, from: "+15550001111" });
    const result = await sms.send({ to: "+15551234567", body: "Your code is 123456" });

    expect(result).toMatchObject({ provider: "outbox", status: "sent", duplicate: false });
    expect(messageFiles(dir)).toEqual([`${result.id}.json`]);
    const [record] = (await readOutbox(dir)) as OutboxSmsRecord[];
    expect(record).toMatchObject({ kind: "sms", to: "+15551234567", from: "+15550001111", body: "Your code is 123456", encoding: "GSM-7", segments: 1 });
  });

  it("counts segments by encoding", async () => {
    const sms = createOutboxSms({ dir });
    await sms.send({ to: "+15551234567", body: "a".repeat(161) });
    await sms.send({ to: "+15551234567", body: "Ваш заказ готов" });
    await sms.send({ to: "+15551234567", body: "€".repeat(81) });
    const records = (await readOutbox(dir)) as OutboxSmsRecord[];
    expect(records.map((record) => [record.encoding, record.segments])).toEqual([
      ["GSM-7", 2],
      ["UCS-2", 1],
      ["GSM-7", 2],
    ]);
    expect(records[0]?.from).toBe("Bridge");
  });

  it("invalid numbers are permanent", async () => {
    const sms = createOutboxSms({ dir });
    for (const to of ["5551234567", "+0123456", "+1 555 123 4567", "+1555123456789012", "+", ""]) {
      const error = await caught(sms.send({ to, body: "Hi" }));
      expect(error.code, to).toBe("PERMANENT_DELIVERY_FAILURE");
      expect(error.message).toContain("E.164");
    }
    const badFrom = await caught(sms.send({ to: "+15551234567", from: "Way too long sender", body: "Hi" }));
    expect(badFrom.message).toContain("from");
    expect(messageFiles(dir)).toEqual([]);
  });

  it("body is required and bounded", async () => {
    const sms = createOutboxSms({ dir });
    expect((await caught(sms.send({ to: "+15551234567" }))).message).toContain("body is missing");
    expect((await caught(sms.send({ to: "+15551234567", body: "   " }))).message).toContain("body is missing");
    expect((await caught(sms.send({ to: "+15551234567", body: "x".repeat(1601) }))).message).toContain("1601 characters");
  });

  it("renders the text part of a template", async () => {
    const sms = createOutboxSms({ dir });
    sms.registerTemplate("pickup", { text: "Order {{ order }} is ready at {{ store }}" });
    sms.registerTemplate("html-only", { html: "<b>hi</b>" });
    await sms.send({ to: "+15551234567", template: { name: "pickup", variables: { order: "A-7", store: "Mall of America" } } });
    const [record] = (await readOutbox(dir)) as OutboxSmsRecord[];
    expect(record?.body).toBe("Order A-7 is ready at Mall of America");
    expect(record?.template).toBe("pickup");

    const missing = await caught(sms.send({ to: "+15551234567", template: { name: "pickup", variables: { order: "A-7" } } }));
    expect(missing.message).toContain("missing variables store");
    const htmlOnly = await caught(sms.send({ to: "+15551234567", template: { name: "html-only", variables: {} } }));
    expect(htmlOnly.message).toContain("no text part");
  });

  it("idempotency key sends once", async () => {
    const message = { to: "+15551234567", body: "Code 1", idempotencyKey: "otp-1" };
    const first = await createOutboxSms({ dir }).send(message);
    const second = await createOutboxSms({ dir }).send(message);
    expect(second).toEqual({ ...first, duplicate: true });
    expect(await readOutbox(dir)).toHaveLength(1);
  });
});
