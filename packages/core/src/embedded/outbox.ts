// Email and SMS roles that write to a folder instead of sending: each email is
// an RFC 5322 `.eml` file (built by nodemailer's MailComposer) with a `.json`
// metadata file, each SMS a `.json` file. Idempotency keys are files too, so
// they survive a restart.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { link, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import MailComposer from "nodemailer/lib/mail-composer";
import { z } from "zod";
import { DeliveryError, ValidationError, type RoleName } from "../errors.js";
import type {
  Attachment,
  EmailMessage,
  EmailRole,
  MessageTemplate,
  MessagingCapabilities,
  SendResult,
  SmsMessage,
  SmsRole,
  TemplateRef,
} from "../roles/messaging.js";
import { currentTenantId } from "../tenant.js";

export interface OutboxEmailOptions {
  /** Folder that receives one `.eml` and one `.json` file per email; created on the first send. */
  dir: string;
  /** Sender when a message names none; `outbox@localhost.localdomain` when absent. */
  from?: string;
}

export interface OutboxSmsOptions {
  /** Folder that receives one `.json` file per SMS; created on the first send. */
  dir: string;
  /** Sender when a message names none: an E.164 number or an alphanumeric sender id; `Bridge` when absent. */
  from?: string;
}

/** An email as `readOutbox` lists it. */
export interface OutboxEmailRecord {
  kind: "email";
  id: string;
  tenantId: string;
  createdAt: string;
  messageId: string;
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo: string | null;
  subject: string;
  text: string | null;
  html: string | null;
  tags: string[];
  template: string | null;
  attachments: Array<{ filename: string; contentType: string | null; size: number }>;
  headers: Record<string, string>;
  idempotencyKey: string | null;
  /** Absolute path of the `.eml` file after `readOutbox`; the file name when stored. */
  emlFile: string;
}

/** An SMS as `readOutbox` lists it. */
export interface OutboxSmsRecord {
  kind: "sms";
  id: string;
  tenantId: string;
  createdAt: string;
  from: string;
  to: string;
  body: string;
  template: string | null;
  /** GSM-7 or UCS-2, which decides how many characters fit in one segment. */
  encoding: "GSM-7" | "UCS-2";
  segments: number;
  idempotencyKey: string | null;
}

export type OutboxRecord = OutboxEmailRecord | OutboxSmsRecord;

const PROVIDER = "outbox";
const DEFAULT_EMAIL_FROM = "outbox@localhost.localdomain";
const DEFAULT_SMS_FROM = "Bridge";
const KEYS_FOLDER = ".idempotency";
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
/** Twilio's limit for one message body, in characters. */
const MAX_SMS_LENGTH = 1600;
const E164 = /^\+[1-9]\d{1,14}$/;
/** Alphanumeric sender id: 1-11 letters, digits or spaces with at least one letter. */
const ALPHANUMERIC_SENDER = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/;
const HEADER_NAME = /^[!-9;-~]+$/;
const LINE_BREAK = /[\r\n]/;
const emailAddress = z.string().email();

const CAPABILITIES: MessagingCapabilities = { templates: true, attachments: true, tags: true, webhooks: false };

/** Creates the email role that writes each message to `options.dir`. */
export function createOutboxEmail(options: OutboxEmailOptions): EmailRole {
  const defaultFrom = options.from ?? DEFAULT_EMAIL_FROM;
  checkOption("email", "from", defaultFrom, parseAddress(defaultFrom) !== undefined, "an email address such as shop@example.com");
  const templates = new TemplateRegistry("email");
  const outbox = new OutboxFolder(options.dir, "email");

  return {
    capabilities: CAPABILITIES,

    registerTemplate(name, template) {
      templates.register(name, template);
    },

    async send(message) {
      const prepared = await prepareEmail(message, defaultFrom, templates);
      return outbox.deliver(message.idempotencyKey, async (id, createdAt) => {
        const messageId = `<${id}@${prepared.from.address.split("@")[1]}>`;
        const eml = await buildEml(prepared, messageId, createdAt);
        const record: OutboxEmailRecord = {
          kind: "email",
          id,
          tenantId: currentTenantId(),
          createdAt: createdAt.toISOString(),
          messageId,
          from: formatAddress(prepared.from),
          to: prepared.to.map(formatAddress),
          cc: prepared.cc.map(formatAddress),
          bcc: prepared.bcc.map(formatAddress),
          replyTo: prepared.replyTo ? formatAddress(prepared.replyTo) : null,
          subject: prepared.subject,
          text: prepared.text ?? null,
          html: prepared.html ?? null,
          tags: prepared.tags,
          template: message.template?.name ?? null,
          attachments: prepared.attachments.map((attachment) => ({
            filename: attachment.filename,
            contentType: attachment.contentType ?? null,
            size: attachment.content.byteLength,
          })),
          headers: prepared.headers,
          idempotencyKey: message.idempotencyKey ?? null,
          emlFile: `${id}.eml`,
        };
        return [
          { name: `${id}.eml`, content: eml },
          // Metadata goes last: its presence marks the send as complete.
          { name: `${id}.json`, content: JSON.stringify(record, null, 2) },
        ];
      });
    },
  };
}

/** Creates the SMS role that writes each message to `options.dir`. */
export function createOutboxSms(options: OutboxSmsOptions): SmsRole {
  const defaultFrom = options.from ?? DEFAULT_SMS_FROM;
  checkOption("sms", "from", defaultFrom, isSmsSender(defaultFrom), "an E.164 number such as +15551234567 or an alphanumeric sender id of 1-11 characters");
  const templates = new TemplateRegistry("sms");
  const outbox = new OutboxFolder(options.dir, "sms");

  return {
    capabilities: { ...CAPABILITIES, attachments: false, tags: false },

    registerTemplate(name, template) {
      templates.register(name, template);
    },

    async send(message) {
      const prepared = prepareSms(message, defaultFrom, templates);
      return outbox.deliver(message.idempotencyKey, async (id, createdAt) => {
        const { encoding, segments } = countSegments(prepared.body);
        const record: OutboxSmsRecord = {
          kind: "sms",
          id,
          tenantId: currentTenantId(),
          createdAt: createdAt.toISOString(),
          from: prepared.from,
          to: prepared.to,
          body: prepared.body,
          template: message.template?.name ?? null,
          encoding,
          segments,
          idempotencyKey: message.idempotencyKey ?? null,
        };
        return [{ name: `${id}.json`, content: JSON.stringify(record, null, 2) }];
      });
    },
  };
}

/**
 * Lists what was written to an outbox folder, oldest first. Email records get
 * the absolute path of their `.eml` file. A missing folder lists nothing.
 */
export async function readOutbox(dir: string): Promise<OutboxRecord[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }

  const records: OutboxRecord[] = [];
  for (const name of names) {
    if (!name.endsWith(".json") || name.startsWith(".")) continue;
    const text = await readFile(join(dir, name), "utf8");
    let record: OutboxRecord;
    try {
      record = JSON.parse(text) as OutboxRecord;
    } catch (error) {
      throw new ValidationError(`Outbox file ${join(dir, name)} is not valid JSON: remove it or restore it from the sender`, { cause: error });
    }
    if (record.kind === "email") record.emlFile = join(dir, record.emlFile);
    records.push(record);
  }
  return records.sort((a, b) => {
    if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
    return a.id < b.id ? -1 : 1;
  });
}

// --- Outbox folder: atomic writes and idempotency keys -----------------------

interface OutboxFile {
  name: string;
  content: string | Uint8Array;
}

interface KeyRecord {
  id: string;
  tenantId: string;
  createdAt: string;
}

class OutboxFolder {
  /** Sends in flight per key hash, so two concurrent sends with one key write once. */
  private readonly inFlight = new Map<string, Promise<SendResult>>();
  private ready: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly role: "email" | "sms",
  ) {
    if (typeof dir !== "string" || dir.trim() === "") {
      throw new ValidationError(`createOutbox${role === "email" ? "Email" : "Sms"} needs dir, the folder to write messages to, got ${JSON.stringify(dir)}`, {
        role,
        integration: PROVIDER,
      });
    }
  }

  /**
   * Writes the files that `render` returns under a new message id, unless the
   * idempotency key was used before: then it returns the first result with
   * `duplicate: true` and writes nothing. The key file is created before the
   * message files, so a crash in between leaves a key whose metadata file is
   * missing, and the next send with that key finishes the same message.
   */
  async deliver(idempotencyKey: string | undefined, render: (id: string, createdAt: Date) => Promise<OutboxFile[]>): Promise<SendResult> {
    if (idempotencyKey === undefined) {
      await this.prepare();
      const createdAt = new Date();
      return this.write(newMessageId(createdAt), createdAt, render);
    }
    checkIdempotencyKey(this.role, idempotencyKey);

    // Keys are per tenant, so two tenants may use the same key.
    const hash = createHash("sha256").update(`${currentTenantId()}\n${idempotencyKey}`).digest("hex");
    const running = this.inFlight.get(hash);
    if (running !== undefined) return { ...(await running), duplicate: true };

    const attempt = this.deliverOnce(hash, render);
    this.inFlight.set(hash, attempt);
    try {
      return await attempt;
    } finally {
      this.inFlight.delete(hash);
    }
  }

  private async deliverOnce(hash: string, render: (id: string, createdAt: Date) => Promise<OutboxFile[]>): Promise<SendResult> {
    await this.prepare();
    const keyPath = join(this.dir, KEYS_FOLDER, `${hash}.json`);
    const createdAt = new Date();
    const claim: KeyRecord = { id: newMessageId(createdAt), tenantId: currentTenantId(), createdAt: createdAt.toISOString() };
    const existing = await this.claimKey(keyPath, claim);
    if (existing === undefined) return this.write(claim.id, new Date(claim.createdAt), render);

    if (await exists(join(this.dir, `${existing.id}.json`))) {
      return { id: existing.id, provider: PROVIDER, status: "sent", duplicate: true };
    }
    // An earlier send claimed the key but stopped before its metadata file: finish that message.
    return this.write(existing.id, new Date(existing.createdAt), render);
  }

  /** Creates the key file unless it exists; returns the record already there, if any. */
  private async claimKey(keyPath: string, claim: KeyRecord): Promise<KeyRecord | undefined> {
    const temporary = join(this.dir, KEYS_FOLDER, `.tmp-${randomUUID()}`);
    await this.fileOperation(() => writeFile(temporary, JSON.stringify(claim)), keyPath);
    try {
      // link() fails with EEXIST when the key exists, so only one sender claims it.
      await link(temporary, keyPath);
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw this.retryable(error, keyPath);
      return JSON.parse(await readFile(keyPath, "utf8")) as KeyRecord;
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
  }

  private async write(id: string, createdAt: Date, render: (id: string, createdAt: Date) => Promise<OutboxFile[]>): Promise<SendResult> {
    const files = await render(id, createdAt);
    for (const file of files) {
      const target = join(this.dir, file.name);
      const temporary = join(this.dir, `.tmp-${randomUUID()}`);
      await this.fileOperation(async () => {
        await writeFile(temporary, file.content);
        await rename(temporary, target);
      }, target);
    }
    return { id, provider: PROVIDER, status: "sent", duplicate: false };
  }

  private prepare(): Promise<void> {
    this.ready ??= this.fileOperation(async () => {
      await mkdir(join(this.dir, KEYS_FOLDER), { recursive: true });
    }, this.dir).catch((error: unknown) => {
      // A later send may find the folder fixed, so the failure is not kept.
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  private async fileOperation<T>(operation: () => Promise<T>, path: string): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw this.retryable(error, path);
    }
  }

  private retryable(error: unknown, path: string): DeliveryError {
    const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
    return new DeliveryError(`Writing ${this.role} to the outbox failed at ${path} (${code}): check that the folder is writable and the disk has space, then send again`, false, {
      ...context(this.role, { path, code }),
      cause: error,
    });
  }
}

let sequence = 0;

/**
 * Returns an id that sorts by creation time, such as
 * 2024-05-01T10-11-12-123Z-000042-1a2b3c4d. The sequence orders ids of one
 * process within the same millisecond; the random part keeps processes apart.
 */
function newMessageId(createdAt: Date): string {
  sequence = (sequence + 1) % 1_000_000;
  const time = createdAt.toISOString().replace(/[:.]/g, "-");
  return `${time}-${String(sequence).padStart(6, "0")}-${randomBytes(4).toString("hex")}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

// --- Validation and templates ------------------------------------------------

function context(role: RoleName, details?: Record<string, unknown>) {
  return { role, integration: PROVIDER, tenantId: currentTenantId(), ...(details ? { details } : {}) };
}

function invalid(role: RoleName, message: string, details?: Record<string, unknown>): DeliveryError {
  return new DeliveryError(message, true, context(role, details));
}

function checkOption(role: RoleName, option: string, value: unknown, valid: boolean, expected: string): void {
  if (!valid) {
    throw new ValidationError(`Invalid ${option} ${JSON.stringify(value)} for the ${role} outbox: use ${expected}`, { role, integration: PROVIDER });
  }
}

function checkIdempotencyKey(role: RoleName, key: unknown): void {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw invalid(role, `idempotencyKey must be a string of 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters, got ${JSON.stringify(key)}`);
  }
}

class TemplateRegistry {
  private readonly templates = new Map<string, MessageTemplate>();

  constructor(private readonly role: RoleName) {}

  register(name: string, template: MessageTemplate): void {
    if (typeof name !== "string" || name.trim() === "") {
      throw new ValidationError(`Template name must be a non-empty string, got ${JSON.stringify(name)}`, context(this.role));
    }
    const parts = ["subject", "text", "html"] as const;
    const present = parts.filter((part) => template?.[part] !== undefined);
    if (present.length === 0 || !present.every((part) => typeof template[part] === "string")) {
      throw new ValidationError(`Template "${name}" needs subject, text or html as strings, got ${JSON.stringify(template)}`, context(this.role));
    }
    this.templates.set(name, { ...template });
  }

  /** Renders every part of a registered template; throws a permanent DeliveryError for a missing template or variable. */
  render(reference: TemplateRef): MessageTemplate {
    if (typeof reference !== "object" || reference === null || typeof reference.name !== "string") {
      throw invalid(this.role, `template must be { name, variables }, got ${JSON.stringify(reference)}`);
    }
    const template = this.templates.get(reference.name);
    if (template === undefined) {
      const known = [...this.templates.keys()].join(", ") || "none";
      throw invalid(this.role, `Template "${reference.name}" is not registered (registered: ${known}): call registerTemplate("${reference.name}", { subject, text, html }) first`, {
        template: reference.name,
      });
    }

    const variables = reference.variables ?? {};
    const missing = new Set<string>();
    const rejected = new Set<string>();
    const render = (source: string | undefined, escape: boolean): string | undefined =>
      source?.replace(PLACEHOLDER, (_, path: string) => {
        const value = lookup(variables, path);
        if (value === undefined || value === null) {
          missing.add(path);
          return "";
        }
        const text = scalarText(value);
        if (text === undefined) {
          rejected.add(path);
          return "";
        }
        return escape ? escapeHtml(text) : text;
      });

    const rendered: MessageTemplate = {
      subject: render(template.subject, false),
      text: render(template.text, false),
      html: render(template.html, true),
    };
    if (missing.size > 0) {
      throw invalid(this.role, `Template "${reference.name}" is missing variables ${[...missing].join(", ")}: pass them in template.variables`, {
        template: reference.name,
        missing: [...missing],
      });
    }
    if (rejected.size > 0) {
      throw invalid(this.role, `Template "${reference.name}" got objects for variables ${[...rejected].join(", ")}: pass strings, numbers, booleans or dates`, {
        template: reference.name,
        rejected: [...rejected],
      });
    }
    return rendered;
  }
}

/** `{{ name }}` or `{{ order.id }}`. */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}/g;

/** Follows a dotted path through own properties only, so `{{ constructor }}` is missing, not a function. */
function lookup(variables: Record<string, unknown>, path: string): unknown {
  let value: unknown = variables;
  for (const key of path.split(".")) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
  return undefined;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ENTITIES[character] ?? character);
}

const HTML_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

// --- Email -------------------------------------------------------------------

interface Address {
  name: string;
  address: string;
}

interface PreparedEmail {
  from: Address;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  replyTo: Address | undefined;
  subject: string;
  text: string | undefined;
  html: string | undefined;
  tags: string[];
  attachments: Array<{ filename: string; content: Buffer; contentType: string | undefined }>;
  headers: Record<string, string>;
}

/** Parses `shop@example.com` or `Shop <shop@example.com>`; undefined when it is not a valid address. */
function parseAddress(value: unknown): Address | undefined {
  if (typeof value !== "string" || LINE_BREAK.test(value)) return undefined;
  const named = /^\s*(?:"([^"]*)"|([^"<>]*?))\s*<([^<>\s]+)>\s*$/.exec(value);
  const name = named ? (named[1] ?? named[2] ?? "").trim() : "";
  const address = named ? named[3]! : value.trim();
  return emailAddress.safeParse(address).success ? { name, address } : undefined;
}

function formatAddress(address: Address): string {
  return address.name ? `${address.name} <${address.address}>` : address.address;
}

async function prepareEmail(message: EmailMessage, defaultFrom: string, templates: TemplateRegistry): Promise<PreparedEmail> {
  if (typeof message !== "object" || message === null) throw invalid("email", `send takes an email message object, got ${JSON.stringify(message)}`);

  const addresses = (field: string, value: unknown, required: boolean): Address[] => {
    const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
    if (required && list.length === 0) throw invalid("email", `${field} is missing: give at least one recipient address`);
    return list.map((item) => {
      const parsed = parseAddress(item);
      if (parsed === undefined) {
        throw invalid("email", `${field} address ${JSON.stringify(item)} is invalid: use name@example.com or "Name <name@example.com>"`, { field, value: item });
      }
      return parsed;
    });
  };
  const to = addresses("to", message.to, true);
  const cc = addresses("cc", message.cc, false);
  const bcc = addresses("bcc", message.bcc, false);
  const replyTo = message.replyTo === undefined ? undefined : addresses("replyTo", message.replyTo, false)[0];
  const from = addresses("from", message.from ?? defaultFrom, true)[0]!;

  const rendered = message.template === undefined ? {} : templates.render(message.template);
  const subject = message.subject ?? rendered.subject;
  const text = message.text ?? rendered.text;
  const html = message.html ?? rendered.html;
  if (typeof subject !== "string" || subject.trim() === "") {
    throw invalid("email", "subject is missing: pass subject, or a template that has one");
  }
  if (LINE_BREAK.test(subject)) throw invalid("email", `subject ${JSON.stringify(subject)} contains a line break: remove it`);
  if ((text === undefined || text === "") && (html === undefined || html === "")) {
    throw invalid("email", "body is missing: pass text or html, or a template that has one");
  }
  if ((text !== undefined && typeof text !== "string") || (html !== undefined && typeof html !== "string")) {
    throw invalid("email", "text and html must be strings");
  }

  return {
    from,
    to,
    cc,
    bcc,
    replyTo,
    subject,
    text: text || undefined,
    html: html || undefined,
    tags: checkTags(message.tags),
    attachments: checkAttachments(message.attachments),
    headers: checkHeaders(message.headers),
  };
}

function checkTags(tags: unknown): string[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === "string" && tag.trim() !== "" && tag.length <= 128 && !/[\r\n,]/.test(tag))) {
    throw invalid("email", `tags must be an array of strings of 1-128 characters without commas or line breaks, got ${JSON.stringify(tags)}`);
  }
  return [...new Set(tags)];
}

function checkAttachments(attachments: Attachment[] | undefined): PreparedEmail["attachments"] {
  if (attachments === undefined) return [];
  if (!Array.isArray(attachments)) throw invalid("email", `attachments must be an array, got ${JSON.stringify(attachments)}`);
  return attachments.map((attachment, position) => {
    const filename = attachment?.filename;
    if (typeof filename !== "string" || filename.trim() === "" || /[\r\n/\\]/.test(filename)) {
      throw invalid("email", `attachment ${position} has filename ${JSON.stringify(filename)}: use a plain file name without slashes or line breaks`);
    }
    const content = attachment.content;
    if (typeof content !== "string" && !(content instanceof Uint8Array)) {
      throw invalid("email", `attachment "${filename}" needs content as a string or bytes`);
    }
    const contentType = attachment.contentType;
    if (contentType !== undefined && (typeof contentType !== "string" || !/^[\w.+-]+\/[\w.+-]+$/.test(contentType))) {
      throw invalid("email", `attachment "${filename}" has contentType ${JSON.stringify(contentType)}: use a MIME type such as application/pdf`);
    }
    return { filename, content: typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content), contentType };
  });
}

function checkHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  if (headers === undefined) return {};
  if (typeof headers !== "object" || headers === null) throw invalid("email", `headers must be an object of strings, got ${JSON.stringify(headers)}`);
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name) || typeof value !== "string" || LINE_BREAK.test(value)) {
      throw invalid("email", `header ${JSON.stringify(name)}: ${JSON.stringify(value)} is invalid: use a header name without spaces or colons and a value without line breaks`);
    }
  }
  return { ...headers };
}

async function buildEml(email: PreparedEmail, messageId: string, date: Date): Promise<Buffer> {
  const composer = new MailComposer({
    from: email.from,
    to: email.to,
    cc: email.cc,
    bcc: email.bcc,
    ...(email.replyTo ? { replyTo: email.replyTo } : {}),
    subject: email.subject,
    ...(email.text !== undefined ? { text: email.text } : {}),
    ...(email.html !== undefined ? { html: email.html } : {}),
    attachments: email.attachments.map((attachment) => ({
      filename: attachment.filename,
      content: attachment.content,
      ...(attachment.contentType ? { contentType: attachment.contentType } : {}),
    })),
    headers: { ...email.headers, ...(email.tags.length > 0 ? { "X-Bridge-Tags": email.tags.join(", ") } : {}) },
    messageId,
    date,
    // Content comes only from the message itself, never from paths or URLs.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile().build();
}

// --- SMS ---------------------------------------------------------------------

function isSmsSender(value: unknown): boolean {
  return typeof value === "string" && (E164.test(value) || ALPHANUMERIC_SENDER.test(value));
}

function prepareSms(message: SmsMessage, defaultFrom: string, templates: TemplateRegistry): { to: string; from: string; body: string } {
  if (typeof message !== "object" || message === null) throw invalid("sms", `send takes an SMS message object, got ${JSON.stringify(message)}`);
  if (message.to === undefined || message.to === "") throw invalid("sms", "to is missing: give the recipient's number in E.164 form, such as +15551234567");
  if (typeof message.to !== "string" || !E164.test(message.to)) {
    throw invalid("sms", `to ${JSON.stringify(message.to)} is not an E.164 number: use + then the country code and number, digits only, such as +15551234567`, {
      to: message.to,
    });
  }
  const from = message.from ?? defaultFrom;
  if (!isSmsSender(from)) {
    throw invalid("sms", `from ${JSON.stringify(from)} is invalid: use an E.164 number or an alphanumeric sender id of 1-11 characters`);
  }

  let body = message.body;
  if (body === undefined && message.template !== undefined) {
    body = templates.render(message.template).text;
    if (body === undefined) throw invalid("sms", `Template "${message.template.name}" has no text part to send as SMS: register it with text`);
  }
  if (typeof body !== "string" || body.trim() === "") throw invalid("sms", "body is missing: pass body or a template with text");
  if (body.length > MAX_SMS_LENGTH) {
    throw invalid("sms", `body has ${body.length} characters, above the maximum of ${MAX_SMS_LENGTH}: shorten it or send a link`);
  }
  return { to: message.to, from, body };
}

/** GSM 03.38 basic character set; these fit 160 to a segment. */
const GSM_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/** GSM 03.38 extension characters; each takes two positions. */
const GSM_EXTENDED = "^{}\\[~]|€\f";

/** Counts SMS segments: GSM-7 fits 160 characters (153 per part when split), UCS-2 fits 70 (67 per part). */
function countSegments(body: string): { encoding: "GSM-7" | "UCS-2"; segments: number } {
  let septets = 0;
  for (const character of body) {
    if (GSM_BASIC.includes(character)) septets += 1;
    else if (GSM_EXTENDED.includes(character)) septets += 2;
    else {
      const units = body.length;
      return { encoding: "UCS-2", segments: units <= 70 ? 1 : Math.ceil(units / 67) };
    }
  }
  return { encoding: "GSM-7", segments: septets <= 160 ? 1 : Math.ceil(septets / 153) };
}
