import type { EmailRole, MessagingCapabilities, SmsRole } from "@bridge/core";
import { afterEach, expect, it } from "vitest";
import { describeConformance, expectBridgeError, InstanceTracker, newNamespace, type CaseTimeoutOptions } from "../harness.js";

/** One message as it actually left the provider (outbox file, request to a local API double, and so on). */
export interface SentMessage {
  channel: "email" | "sms";
  /** The `id` of the SendResult that produced it. */
  id: string;
  to: string[];
  cc?: string[];
  from?: string;
  subject?: string;
  text?: string;
  html?: string;
  /** SMS text. */
  body?: string;
  tags?: string[];
  attachments?: Array<{ filename: string }>;
}

export interface MessagingInstance {
  email: EmailRole;
  sms?: SmsRole;
  /** Every message sent so far by this instance, oldest first. */
  sent: () => Promise<SentMessage[]>;
  cleanup?: () => Promise<void>;
}

export interface MessagingSuiteOptions extends CaseTimeoutOptions {
  /** One word that names the provider in test titles and in the conformance report. */
  provider: string;
  /** `sms` only when the provider sends SMS; the SMS cases are registered only then. */
  capabilities: { email: MessagingCapabilities; sms?: MessagingCapabilities };
  create: (namespace: string) => Promise<MessagingInstance>;
}

const BUYER = "buyer@example.com";
const PHONE = "+15551234567";

/** Registers the email and SMS conformance cases. Call it at the top level of a vitest test file. */
export function runMessagingSuite(options: MessagingSuiteOptions): void {
  const tracker = new InstanceTracker<MessagingInstance>();
  const cleanUp = async () => {
    for (const instance of tracker.drain()) await instance.cleanup?.();
  };

  async function start() {
    return tracker.track(await options.create(newNamespace()));
  }

  async function sentOn(instance: MessagingInstance, channel: SentMessage["channel"]): Promise<SentMessage[]> {
    return (await instance.sent()).filter((message) => message.channel === channel);
  }

  const email = options.capabilities.email;
  describeConformance({ role: "email", provider: options.provider, capabilities: email }, () => {
    afterEach(cleanUp);

    it("declares its capabilities", async () => {
      const instance = await start();
      expect(instance.email.capabilities, "email.capabilities must equal what the provider declares to the kit").toEqual(email);
    });

    it("sends a text email", async () => {
      const instance = await start();
      const result = await instance.email.send({
        to: BUYER,
        from: "orders@shop.example.com",
        subject: "Order 1001 confirmed",
        text: "Thank you for your order.",
      });
      expect(result.id).toMatch(/\S/);
      expect(["queued", "sent"]).toContain(result.status);
      expect(result.duplicate).toBe(false);

      const sent = await sentOn(instance, "email");
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ id: result.id, to: [BUYER], subject: "Order 1001 confirmed", text: "Thank you for your order." });
    });

    it("sends to several recipients", async () => {
      const instance = await start();
      await instance.email.send({
        to: [BUYER, "accounts@example.com"],
        cc: ["manager@example.com"],
        subject: "Quote Q-17",
        html: "<p>Your quote is ready.</p>",
      });
      const [message] = await sentOn(instance, "email");
      expect(message?.to).toEqual([BUYER, "accounts@example.com"]);
      expect(message?.cc).toEqual(["manager@example.com"]);
      expect(message?.html).toBe("<p>Your quote is ready.</p>");
    });

    it("missing recipient is rejected", async () => {
      const instance = await start();
      await expectBridgeError(instance.email.send({ to: [], subject: "Hi", text: "Hi" }), "PERMANENT_DELIVERY_FAILURE");
      await expectBridgeError(instance.email.send({ to: "", subject: "Hi", text: "Hi" }), "PERMANENT_DELIVERY_FAILURE");
      expect(await sentOn(instance, "email")).toEqual([]);
    });

    it("invalid address is rejected", async () => {
      const instance = await start();
      for (const address of ["not-an-email", "buyer@", "@example.com", "buyer@example.com\r\nBcc: victim@example.com"]) {
        const error = await expectBridgeError(
          instance.email.send({ to: address, subject: "Hi", text: "Hi" }),
          "PERMANENT_DELIVERY_FAILURE",
        );
        expect(error.retryable).toBe(false);
        expect(error.message, "the error must name the rejected address").toContain(address.split("\r")[0]);
      }
      await expectBridgeError(
        instance.email.send({ to: BUYER, cc: ["not-an-email"], subject: "Hi", text: "Hi" }),
        "PERMANENT_DELIVERY_FAILURE",
        ["not-an-email"],
      );
      expect(await sentOn(instance, "email")).toEqual([]);
    });

    it("missing content is rejected", async () => {
      const instance = await start();
      await expectBridgeError(instance.email.send({ to: BUYER, subject: "Empty" }), "PERMANENT_DELIVERY_FAILURE");
      expect(await sentOn(instance, "email")).toEqual([]);
    });

    it("line break in subject is rejected", async () => {
      const instance = await start();
      await expectBridgeError(
        instance.email.send({ to: BUYER, subject: "Hello\r\nBcc: victim@example.com", text: "Hi" }),
        "PERMANENT_DELIVERY_FAILURE",
      );
      expect(await sentOn(instance, "email")).toEqual([]);
    });

    it("idempotency key sends once", async () => {
      const instance = await start();
      const message = { to: BUYER, subject: "Order 1001 confirmed", text: "Thanks", idempotencyKey: "order-1001-confirmation" };
      const first = await instance.email.send(message);
      const second = await instance.email.send(message);
      expect(second.id).toBe(first.id);
      expect(second.duplicate).toBe(true);
      expect(await sentOn(instance, "email")).toHaveLength(1);

      const other = await instance.email.send({ ...message, idempotencyKey: "order-1002-confirmation" });
      expect(other.duplicate).toBe(false);
      expect(await sentOn(instance, "email")).toHaveLength(2);
    });

    it.runIf(email.templates)("template fills variables", async () => {
      const instance = await start();
      instance.email.registerTemplate("order-confirmed", {
        subject: "Order {{orderNumber}} confirmed",
        text: "Hello {{name}}, your total is {{total}}.",
        html: "<p>Hello {{name}}</p>",
      });
      await instance.email.send({
        to: BUYER,
        template: { name: "order-confirmed", variables: { orderNumber: "1001", name: "<b>Ada</b>", total: "$12.50" } },
      });

      const [message] = await sentOn(instance, "email");
      expect(message?.subject).toBe("Order 1001 confirmed");
      expect(message?.text).toBe("Hello <b>Ada</b>, your total is $12.50.");
      expect(message?.html, "variables must be HTML-escaped in the html part").not.toContain("<b>Ada</b>");
      expect(message?.html).toContain("&lt;b&gt;Ada&lt;/b&gt;");
    });

    it.runIf(email.templates)("missing template variable is rejected", async () => {
      const instance = await start();
      instance.email.registerTemplate("order-confirmed", { subject: "Order {{orderNumber}}", text: "Hello {{name}}" });
      await expectBridgeError(
        instance.email.send({ to: BUYER, template: { name: "order-confirmed", variables: { orderNumber: "1001" } } }),
        "PERMANENT_DELIVERY_FAILURE",
        ["name"],
      );
      await expectBridgeError(
        instance.email.send({ to: BUYER, template: { name: "no-such-template", variables: {} } }),
        "PERMANENT_DELIVERY_FAILURE",
        ["no-such-template"],
      );
      expect(await sentOn(instance, "email")).toEqual([]);
    });

    it.runIf(email.tags)("tags reach the provider", async () => {
      const instance = await start();
      await instance.email.send({ to: BUYER, subject: "Hi", text: "Hi", tags: ["order", "confirmation"] });
      const [message] = await sentOn(instance, "email");
      expect(message?.tags).toEqual(["order", "confirmation"]);
    });

    it.runIf(email.attachments)("attachments reach the provider", async () => {
      const instance = await start();
      await instance.email.send({
        to: BUYER,
        subject: "Invoice",
        text: "Attached.",
        attachments: [{ filename: "invoice-1001.pdf", content: new Uint8Array([37, 80, 68, 70]), contentType: "application/pdf" }],
      });
      const [message] = await sentOn(instance, "email");
      expect(message?.attachments?.map((attachment) => attachment.filename)).toEqual(["invoice-1001.pdf"]);
    });
  }, { caseTimeoutMs: options.caseTimeoutMs });

  const sms = options.capabilities.sms;
  if (!sms) return;

  async function startSms() {
    const instance = await start();
    expect(instance.sms, `provider ${options.provider} declares SMS capabilities but create() returned no sms`).toBeDefined();
    return { instance, sms: instance.sms! };
  }

  describeConformance({ role: "sms", provider: options.provider, capabilities: sms }, () => {
    afterEach(cleanUp);

    it("declares its capabilities", async () => {
      const { sms: role } = await startSms();
      expect(role.capabilities, "sms.capabilities must equal what the provider declares to the kit").toEqual(sms);
    });

    it("sends a text message", async () => {
      const { instance, sms: role } = await startSms();
      const result = await role.send({ to: PHONE, body: "Your order 1001 has shipped." });
      expect(result.duplicate).toBe(false);
      const sent = await sentOn(instance, "sms");
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ id: result.id, to: [PHONE], body: "Your order 1001 has shipped." });
    });

    it("invalid number is rejected", async () => {
      const { instance, sms: role } = await startSms();
      for (const number of ["555-1234", "+1", "15551234567", "+1555123456789012"]) {
        await expectBridgeError(role.send({ to: number, body: "Hi" }), "PERMANENT_DELIVERY_FAILURE", [number]);
      }
      expect(await sentOn(instance, "sms")).toEqual([]);
    });

    it("missing body is rejected", async () => {
      const { instance, sms: role } = await startSms();
      await expectBridgeError(role.send({ to: PHONE }), "PERMANENT_DELIVERY_FAILURE");
      await expectBridgeError(role.send({ to: PHONE, body: "" }), "PERMANENT_DELIVERY_FAILURE");
      expect(await sentOn(instance, "sms")).toEqual([]);
    });

    it("idempotency key sends once", async () => {
      const { instance, sms: role } = await startSms();
      const first = await role.send({ to: PHONE, body: "Code 123456", idempotencyKey: "login-code-1" });
      const second = await role.send({ to: PHONE, body: "Code 123456", idempotencyKey: "login-code-1" });
      expect(second.id).toBe(first.id);
      expect(second.duplicate).toBe(true);
      expect(await sentOn(instance, "sms")).toHaveLength(1);
    });

    it.runIf(sms.templates)("template fills variables", async () => {
      const { instance, sms: role } = await startSms();
      role.registerTemplate("login-code", { text: "Your code is {{code}}" });
      await role.send({ to: PHONE, template: { name: "login-code", variables: { code: "123456" } } });
      const [message] = await sentOn(instance, "sms");
      expect(message?.body).toBe("Your code is 123456");
    });

    it.runIf(sms.templates)("missing template variable is rejected", async () => {
      const { instance, sms: role } = await startSms();
      role.registerTemplate("login-code", { text: "Your code is {{code}}" });
      await expectBridgeError(
        role.send({ to: PHONE, template: { name: "login-code", variables: {} } }),
        "PERMANENT_DELIVERY_FAILURE",
        ["code"],
      );
      expect(await sentOn(instance, "sms")).toEqual([]);
    });
  }, { caseTimeoutMs: options.caseTimeoutMs });
}
