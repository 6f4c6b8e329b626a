// Titles of the describe blocks that the conformance runner reads back from
// vitest's JSON report. Kept free of @bridge/core imports, so that the
// services entry point can use them too.

/** Role names that the conformance runner groups results by. */
export type ConformanceRole =
  | "queue"
  | "logs"
  | "notifications"
  | "data"
  | "search"
  | "email"
  | "sms"
  | "secrets"
  | "crypto";

const TITLE_PATTERN = /^conformance\[([a-z]+)\] provider=(\S+)$/;

/** Title of the outer describe block of a suite, such as `conformance[queue] provider=rabbitmq`. */
export function conformanceTitle(role: ConformanceRole, provider: string): string {
  if (!/^\S+$/.test(provider)) {
    throw new TypeError(`Invalid provider name ${JSON.stringify(provider)}: use one word without spaces, such as "rabbitmq".`);
  }
  return `conformance[${role}] provider=${provider}`;
}

/** Reads a suite title back into role and provider; returns null for any other title. */
export function parseConformanceTitle(title: string): { role: string; provider: string } | null {
  const match = TITLE_PATTERN.exec(title);
  if (!match) return null;
  return { role: match[1] as string, provider: match[2] as string };
}
