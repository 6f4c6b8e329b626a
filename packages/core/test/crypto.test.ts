import { describe, expect, it } from "vitest";
import { createMemoryMagicLinkStore, createNodeCrypto } from "../src/embedded/crypto.js";
import { isBridgeError, type BridgeError } from "../src/errors.js";
import { runWithTenant } from "../src/tenant.js";

/** Low scrypt cost for tests that are not about the cost itself. */
const FAST = { ln: 10, r: 8, p: 1 };
const KEY_A = { id: "key-a", secret: "a".repeat(32) };

async function caught(promise: Promise<unknown>): Promise<BridgeError> {
  try {
    await promise;
  } catch (error) {
    if (isBridgeError(error)) return error;
    throw error;
  }
  throw new Error("expected the call to throw a BridgeError");
}

function clock(start = Date.parse("2024-06-01T12:00:00Z")) {
  let time = start;
  return {
    now: () => time,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

describe("node crypto: passwords", () => {
  it("hashes in PHC format with the default cost", async () => {
    const crypto = createNodeCrypto();
    const phc = await crypto.hashPassword("correct horse battery staple");
    expect(phc).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await crypto.verifyPassword("correct horse battery staple", phc)).toBe(true);
    expect(await crypto.verifyPassword("correct horse battery stapler", phc)).toBe(false);
  });

  it("salts every hash", async () => {
    const crypto = createNodeCrypto({ passwordCost: FAST });
    const first = await crypto.hashPassword("pw-1");
    const second = await crypto.hashPassword("pw-1");
    expect(first).not.toBe(second);
    expect(await crypto.verifyPassword("pw-1", second)).toBe(true);
  });

  it("verifies hashes of another cost", async () => {
    const fast = createNodeCrypto({ passwordCost: FAST });
    const phc = await fast.hashPassword("pässwörd");
    expect(phc.startsWith("$scrypt$ln=10,r=8,p=1$")).toBe(true);
    // Verification reads the cost from the string, not from the options.
    expect(await createNodeCrypto().verifyPassword("pässwörd", phc)).toBe(true);
  });

  it("normalizes unicode passwords", async () => {
    const crypto = createNodeCrypto({ passwordCost: FAST });
    const composed = "caf\u00e9";
    const decomposed = "cafe\u0301";
    const phc = await crypto.hashPassword(composed);
    expect(await crypto.verifyPassword(decomposed, phc)).toBe(true);
  });

  it("rejects malformed PHC strings", async () => {
    const crypto = createNodeCrypto({ passwordCost: FAST });
    const valid = await crypto.hashPassword("pw");
    const [, , params, salt, hash] = valid.split("$");
    const malformed = [
      "",
      "plain-text-password",
      `$argon2id$v=19$m=65536,t=3,p=4$${salt}$${hash}`,
      `$scrypt$${params}$${salt}`,
      `$scrypt$ln=15,r=8$${salt}$${hash}`,
      `$scrypt$ln=30,r=8,p=1$${salt}$${hash}`,
      `$scrypt$ln=20,r=32,p=1$${salt}$${hash}`,
      `$scrypt$${params}$${salt}$${hash}=`,
      `$scrypt$${params}$${salt}$${hash!.slice(0, 10)}`,
      `$scrypt$${params}$${salt}$${hash}$extra`,
    ];
    for (const phc of malformed) {
      const error = await caught(crypto.verifyPassword("pw", phc));
      expect(error.code, phc).toBe("VALIDATION_FAILED");
      expect(error.message).toContain("PHC");
    }
  });

  it("rejects bad passwords and costs", async () => {
    const crypto = createNodeCrypto({ passwordCost: FAST });
    expect((await caught(crypto.hashPassword(""))).code).toBe("VALIDATION_FAILED");
    expect((await caught(crypto.hashPassword("x".repeat(1025)))).message).toContain("1025 characters");
    expect((await caught(crypto.hashPassword(42 as never))).message).toContain("got number");
    expect(() => createNodeCrypto({ passwordCost: { ln: 0, r: 8, p: 1 } })).toThrow(/passwordCost/);
  });
});

describe("node crypto: signed tokens", () => {
  it("signs and verifies", async () => {
    const crypto = createNodeCrypto({ keys: [KEY_A] });
    const signed = await crypto.sign({ sub: "user-1", role: "admin" });
    expect(signed.keyId).toBe("key-a");
    expect(signed.token.split(".")).toHaveLength(3);
    const header = JSON.parse(Buffer.from(signed.token.split(".")[0]!, "base64url").toString("utf8"));
    expect(header).toMatchObject({ alg: "HS256", kid: "key-a" });
    expect(await crypto.verify(signed.token)).toEqual({ sub: "user-1", role: "admin" });
  });

  it("expired token is rejected", async () => {
    const time = clock();
    const crypto = createNodeCrypto({ keys: [KEY_A], now: time.now });
    const { token } = await crypto.sign({ sub: "user-1" }, { expiresInMs: 60_000 });
    const header = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString("utf8"));
    expect(header.exp).toBe(time.now() + 60_000);

    time.advance(59_999);
    expect(await crypto.verify(token)).toEqual({ sub: "user-1" });
    time.advance(1);
    const error = await caught(crypto.verify(token));
    expect(error.code).toBe("TOKEN_EXPIRED");
    expect(error.message).toContain("2024-06-01T12:01:00.000Z");
  });

  it("tampered token is rejected", async () => {
    const crypto = createNodeCrypto({ keys: [KEY_A] });
    const { token } = await crypto.sign({ sub: "user-1", role: "customer" }, { expiresInMs: 60_000 });
    const [header, , signature] = token.split(".");
    const forgedPayload = Buffer.from(JSON.stringify({ sub: "user-1", role: "admin" })).toString("base64url");
    const noExpiry = Buffer.from(JSON.stringify({ alg: "HS256", kid: "key-a", iat: 0 })).toString("base64url");
    const payload = token.split(".")[1];

    const forged = [
      `${header}.${forgedPayload}.${signature}`,
      `${noExpiry}.${payload}.${signature}`,
      `${header}.${payload}.${signature!.slice(0, -2)}`,
      `${header}.${payload}`,
      `${header}.${payload}.${signature}.x`,
      "not a token",
      "",
      `${Buffer.from('{"alg":"none","kid":"key-a"}').toString("base64url")}.${payload}.`,
    ];
    for (const candidate of forged) {
      const error = await caught(crypto.verify(candidate));
      expect(error.code, candidate).toBe("TOKEN_INVALID");
    }
  });

  it("key rotation keeps old tokens valid", async () => {
    const crypto = createNodeCrypto({ keys: [KEY_A] });
    const old = await crypto.sign({ sub: "user-1" });
    const newKeyId = await crypto.rotateKey();
    const fresh = await crypto.sign({ sub: "user-2" });

    expect(newKeyId).not.toBe("key-a");
    expect(fresh.keyId).toBe(newKeyId);
    expect(await crypto.verify(old.token)).toEqual({ sub: "user-1" });
    expect(await crypto.verify(fresh.token)).toEqual({ sub: "user-2" });
  });

  it("unknown key is rejected", async () => {
    const signer = createNodeCrypto({ keys: [{ id: "key-b", secret: "b".repeat(32) }] });
    const verifier = createNodeCrypto({ keys: [KEY_A] });
    const { token } = await signer.sign({ sub: "user-1" });
    const error = await caught(verifier.verify(token));
    expect(error.code).toBe("TOKEN_INVALID");
    expect(error.message).toContain('key "key-b"');
  });

  it("same key id with another secret fails", async () => {
    const signer = createNodeCrypto({ keys: [{ id: "key-a", secret: "z".repeat(32) }] });
    const { token } = await signer.sign({ sub: "user-1" });
    const error = await caught(createNodeCrypto({ keys: [KEY_A] }).verify(token));
    expect(error.message).toContain("signature does not match");
  });

  it("last configured key signs", async () => {
    const crypto = createNodeCrypto({ keys: [KEY_A, { id: "key-c", secret: new Uint8Array(32).fill(7) }] });
    expect((await crypto.sign({})).keyId).toBe("key-c");
  });

  it("bad keys and payloads are rejected", async () => {
    expect(() => createNodeCrypto({ keys: [] })).toThrow(/keys of the node crypto is empty/);
    expect(() => createNodeCrypto({ keys: [{ id: "short", secret: "too short" }] })).toThrow(/9 bytes, below the minimum of 32/);
    expect(() => createNodeCrypto({ keys: [KEY_A, KEY_A] })).toThrow(/given twice/);
    expect(() => createNodeCrypto({ keys: [{ id: "bad id!", secret: "a".repeat(32) }] })).toThrow(/key id/);

    const crypto = createNodeCrypto({ keys: [KEY_A] });
    expect((await caught(crypto.sign([] as never))).code).toBe("VALIDATION_FAILED");
    expect((await caught(crypto.sign({ big: 1n }))).message).toContain("serialize");
    expect((await caught(crypto.sign({}, { expiresInMs: -5 }))).message).toContain("expiresInMs");
  });
});

describe("node crypto: magic links", () => {
  it("magic link works once", async () => {
    const crypto = createNodeCrypto();
    const link = await crypto.createMagicLink("user-42");
    expect(link.token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    expect(await crypto.consumeMagicLink(link.token)).toBe("user-42");
    const reuse = await caught(crypto.consumeMagicLink(link.token));
    expect(reuse.code).toBe("TOKEN_REUSED");
    expect(reuse.message).toContain("already used");
  });

  it("concurrent uses succeed once", async () => {
    const crypto = createNodeCrypto();
    const link = await crypto.createMagicLink("user-42");
    const outcomes = await Promise.allSettled([crypto.consumeMagicLink(link.token), crypto.consumeMagicLink(link.token), crypto.consumeMagicLink(link.token)]);
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") expect((outcome.reason as BridgeError).code).toBe("TOKEN_REUSED");
    }
  });

  it("magic link expires", async () => {
    const time = clock();
    const crypto = createNodeCrypto({ now: time.now });
    const link = await crypto.createMagicLink("user-42", { ttlMs: 10 * 60_000 });
    expect(link.expiresAt).toBe("2024-06-01T12:10:00.000Z");

    time.advance(10 * 60_000);
    const error = await caught(crypto.consumeMagicLink(link.token));
    expect(error.code).toBe("TOKEN_EXPIRED");
    expect(error.message).toContain("2024-06-01T12:10:00.000Z");
  });

  it("default ttl is 15 minutes", async () => {
    const time = clock();
    const crypto = createNodeCrypto({ now: time.now });
    const link = await crypto.createMagicLink("user-42");
    expect(link.expiresAt).toBe("2024-06-01T12:15:00.000Z");
  });

  it("purpose mismatch is rejected", async () => {
    const crypto = createNodeCrypto();
    const link = await crypto.createMagicLink("user-42", { purpose: "reset-password" });
    const wrong = await caught(crypto.consumeMagicLink(link.token));
    expect(wrong.code).toBe("TOKEN_INVALID");
    expect(wrong.message).toContain('issued for purpose "reset-password", not "login"');
    // A rejected purpose does not use the link up.
    expect(await crypto.consumeMagicLink(link.token, { purpose: "reset-password" })).toBe("user-42");
  });

  it("unknown and malformed links are invalid", async () => {
    const crypto = createNodeCrypto();
    for (const token of ["A".repeat(43), "", "has spaces", "x".repeat(20_000)]) {
      expect((await caught(crypto.consumeMagicLink(token))).code, token.slice(0, 20)).toBe("TOKEN_INVALID");
    }
  });

  it("links stay with their tenant", async () => {
    const crypto = createNodeCrypto();
    const link = await runWithTenant("acme", () => crypto.createMagicLink("user-42"));
    const elsewhere = await runWithTenant("globex", () => caught(crypto.consumeMagicLink(link.token)));
    expect(elsewhere.code).toBe("TOKEN_INVALID");
    expect(await runWithTenant("acme", () => crypto.consumeMagicLink(link.token))).toBe("user-42");
  });

  it("store keeps only the token hash", async () => {
    const saved: unknown[] = [];
    const memory = createMemoryMagicLinkStore();
    const crypto = createNodeCrypto({
      magicLinkStore: {
        save: async (record) => {
          saved.push(record);
          await memory.save(record);
        },
        get: (hash) => memory.get(hash),
        markUsed: (hash, at) => memory.markUsed(hash, at),
      },
    });
    const link = await crypto.createMagicLink("user-42");
    expect(JSON.stringify(saved)).not.toContain(link.token);
    expect(saved[0]).toMatchObject({ subject: "user-42", purpose: "login", usedAt: null });
  });

  it("bad link options are rejected", async () => {
    const crypto = createNodeCrypto();
    expect((await caught(crypto.createMagicLink(""))).code).toBe("VALIDATION_FAILED");
    expect((await caught(crypto.createMagicLink("u", { ttlMs: 0 }))).message).toContain("ttlMs");
    expect((await caught(crypto.createMagicLink("u", { purpose: "" }))).message).toContain("purpose");
  });
});
