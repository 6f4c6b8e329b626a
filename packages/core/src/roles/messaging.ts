export interface Attachment {
  filename: string;
  content: Uint8Array | string;
  contentType?: string;
}

export interface TemplateRef {
  name: string;
  variables: Record<string, unknown>;
}

export interface EmailMessage {
  to: string | string[];
  from?: string;
  cc?: string[];
  bcc?: string[];
  replyTo?: string;
  subject?: string;
  text?: string;
  html?: string;
  /** Renders subject, text and html from a registered template. */
  template?: TemplateRef;
  tags?: string[];
  attachments?: Attachment[];
  headers?: Record<string, string>;
  /** Sending twice with the same key sends once; the second call returns the first result with `duplicate: true`. */
  idempotencyKey?: string;
}

export interface SmsMessage {
  /** E.164, such as +15551234567. */
  to: string;
  from?: string;
  body?: string;
  template?: TemplateRef;
  idempotencyKey?: string;
}

export interface SendResult {
  id: string;
  provider: string;
  status: "queued" | "sent";
  duplicate: boolean;
}

export interface MessageTemplate {
  subject?: string;
  text?: string;
  html?: string;
}

export interface DeliveryStatusEvent {
  messageId: string;
  status: "delivered" | "failed" | "bounced" | "opened" | "clicked" | "complained" | "unknown";
  at: string;
  recipient?: string;
  reason?: string;
}

export interface MessagingCapabilities {
  templates: boolean;
  attachments: boolean;
  tags: boolean;
  webhooks: boolean;
}

export interface EmailRole {
  readonly capabilities: MessagingCapabilities;
  /** Throws DeliveryError: permanent for invalid input, retryable for outages. */
  send(message: EmailMessage): Promise<SendResult>;
  registerTemplate(name: string, template: MessageTemplate): void;
  /** Verifies the signature of a delivery-status webhook and parses it; throws on a bad signature. */
  parseWebhook?(request: { headers: Record<string, string | string[] | undefined>; body: string }): Promise<DeliveryStatusEvent[]>;
}

export interface SmsRole {
  readonly capabilities: MessagingCapabilities;
  send(message: SmsMessage): Promise<SendResult>;
  registerTemplate(name: string, template: MessageTemplate): void;
  parseWebhook?(request: { headers: Record<string, string | string[] | undefined>; body: string; url?: string }): Promise<DeliveryStatusEvent[]>;
}
