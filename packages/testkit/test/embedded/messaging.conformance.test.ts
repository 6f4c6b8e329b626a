import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOutboxEmail, createOutboxSms, readOutbox } from "@bridge/core";
import { runMessagingSuite, type SentMessage } from "../../src/index.js";

const emailCapabilities = { templates: true, attachments: true, tags: true, webhooks: false };
const smsCapabilities = { templates: true, attachments: false, tags: false, webhooks: false };

runMessagingSuite({
  provider: "embedded",
  capabilities: { email: emailCapabilities, sms: smsCapabilities },
  create: async (namespace) => {
    const dir = await mkdtemp(join(tmpdir(), `bridge-outbox-${namespace}-`));
    const emailDir = join(dir, "email");
    const smsDir = join(dir, "sms");

    async function sent(): Promise<SentMessage[]> {
      const records = [...(await readOutbox(emailDir)), ...(await readOutbox(smsDir))];
      records.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      return records.map((record): SentMessage =>
        record.kind === "email"
          ? {
              channel: "email",
              id: record.id,
              to: record.to,
              cc: record.cc,
              from: record.from,
              subject: record.subject,
              ...(record.text === null ? {} : { text: record.text }),
              ...(record.html === null ? {} : { html: record.html }),
              tags: record.tags,
              attachments: record.attachments.map((attachment) => ({ filename: attachment.filename })),
            }
          : { channel: "sms", id: record.id, to: [record.to], from: record.from, body: record.body },
      );
    }

    return {
      email: createOutboxEmail({ dir: emailDir }),
      sms: createOutboxSms({ dir: smsDir }),
      sent,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
});
