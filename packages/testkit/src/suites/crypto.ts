import type { CryptoCapabilities, CryptoRole } from "@bridge/core";
import { afterEach, expect, it } from "vitest";
import { describeConformance, expectBridgeError, InstanceTracker, newNamespace, sleep, type CaseTimeoutOptions } from "../harness.js";

export interface CryptoFactoryOptions {
  /**
   * Clock in epoch milliseconds that the instance reads instead of
   * `Date.now()`, so that the kit can move time past an expiry without waiting.
   */
  now: () => number;
}

export interface CryptoInstance {
  crypto: CryptoRole;
  /**
   * true when the instance ignores `options.now`. The expiry cases then wait
   * for real time to pass (about a second, to cover providers that store
   * expiry in whole seconds).
   */
  realClock?: boolean;
  cleanup?: () => Promise<void>;
}

export interface CryptoSuiteOptions extends CaseTimeoutOptions {
  /** One word that names the provider in test titles and in the conformance report. */
  provider: string;
  capabilities: CryptoCapabilities;
  create: (namespace: string, options: CryptoFactoryOptions) => Promise<CryptoInstance>;
}

/** PHC string format: `$id[$v=version][$param=value,...][$salt[$hash]]`. */
const PHC_PATTERN = /^\$[a-z0-9-]{1,32}(\$v=\d+)?(\$[a-z0-9-]{1,32}=[a-zA-Z0-9/+.-]+(,[a-z0-9-]{1,32}=[a-zA-Z0-9/+.-]+)*)?\$[a-zA-Z0-9/+.-]+\$[a-zA-Z0-9/+.-]+$/;

/**
 * Changes one letter or digit in the middle of a token. The last character is
 * left alone because in base64 its low bits may be padding that decoders ignore.
 */
function tamper(token: string): string {
  for (let i = Math.floor(token.length / 3); i < token.length - 1; i++) {
    const character = token[i]!;
    if (/[a-zA-Z0-9]/.test(character)) {
      const replacement = character.toLowerCase() === "q" ? "r" : "q";
      return token.slice(0, i) + replacement + token.slice(i + 1);
    }
  }
  return `${token}tampered`;
}

/** Asserts that a check returns false or rejects with a Bridge validation error, and never passes. */
async function expectFalseOrRejected(check: () => Promise<boolean>, label: string): Promise<void> {
  let result: boolean;
  try {
    result = await check();
  } catch (error) {
    await expectBridgeError(Promise.reject(error), ["VALIDATION_FAILED", "NOT_SUPPORTED"], [], label);
    return;
  }
  expect(result, label).toBe(false);
}

/** Registers the crypto conformance cases. Call it at the top level of a vitest test file. */
export function runCryptoSuite(options: CryptoSuiteOptions): void {
  const declared = options.capabilities;
  const tracker = new InstanceTracker<CryptoInstance>();

  async function start() {
    const clock = { offsetMs: 0 };
    const instance = tracker.track(await options.create(newNamespace(), { now: () => Date.now() + clock.offsetMs }));

    /** Moves the instance's time forward by `ms`, or waits when it reads the real clock. */
    async function advance(ms: number): Promise<void> {
      if (instance.realClock) {
        await sleep(ms);
        return;
      }
      clock.offsetMs += ms;
    }

    // With a real clock a short ttl keeps the wait short; whole-second providers round up to 1 s.
    const ttlMs = instance.realClock ? 1 : 60_000;
    const pastTtlMs = instance.realClock ? 1_100 : 61_000;
    return { crypto: instance.crypto, advance, ttlMs, pastTtlMs };
  }

  describeConformance({ role: "crypto", provider: options.provider, capabilities: declared }, () => {
    afterEach(async () => {
      for (const instance of tracker.drain()) await instance.cleanup?.();
    });

    it("declares its capabilities", async () => {
      const { crypto } = await start();
      expect(crypto.capabilities, "crypto.capabilities must equal what the provider declares to the kit").toEqual(declared);
    });

    it("hashes passwords in PHC format", async () => {
      const { crypto } = await start();
      const first = await crypto.hashPassword("correct horse battery staple");
      const second = await crypto.hashPassword("correct horse battery staple");
      expect(first).toMatch(PHC_PATTERN);
      expect(first, "the PHC string must not contain the password").not.toContain("correct horse");
      expect(second, "two hashes of one password must use different salts").not.toBe(first);
    });

    it("verifies passwords", async () => {
      const { crypto } = await start();
      const hash = await crypto.hashPassword("pässwörd with ünïcode");
      expect(await crypto.verifyPassword("pässwörd with ünïcode", hash)).toBe(true);
      expect(await crypto.verifyPassword("passwörd with ünïcode", hash)).toBe(false);
      await expectFalseOrRejected(() => crypto.verifyPassword("", hash), "verifyPassword with an empty password");
    });

    it("malformed hash does not verify", async () => {
      const { crypto } = await start();
      for (const phc of ["", "not-a-phc-string", "$scrypt$", "$unknown-algorithm$v=1$c2FsdA$aGFzaA"]) {
        await expectFalseOrRejected(() => crypto.verifyPassword("password", phc), `verifyPassword with hash ${JSON.stringify(phc)}`);
      }
    });

    it("sign and verify round trip", async () => {
      const { crypto } = await start();
      const payload = { sub: "customer-42", scope: ["orders:read"], nested: { tenant: "acme" } };
      const signed = await crypto.sign(payload);
      expect(signed.keyId).toMatch(/\S/);
      expect(await crypto.verify(signed.token)).toMatchObject(payload);
    });

    it("tampered token is invalid", async () => {
      const { crypto } = await start();
      const { token } = await crypto.sign({ sub: "customer-42", role: "buyer" });
      const tampered = tamper(token);

      await expectBridgeError(crypto.verify(tampered), "TOKEN_INVALID");
      await expectBridgeError(crypto.verify("not.a.token"), "TOKEN_INVALID");
      await expectBridgeError(crypto.verify(""), "TOKEN_INVALID");
    });

    it("expired token is rejected", async () => {
      const { crypto, advance, ttlMs, pastTtlMs } = await start();
      const { token } = await crypto.sign({ sub: "customer-42" }, { expiresInMs: ttlMs });
      await advance(pastTtlMs);
      await expectBridgeError(crypto.verify(token), "TOKEN_EXPIRED");
    });

    it.runIf(declared.keyRotation)("rotated keys keep verifying", async () => {
      const { crypto } = await start();
      const before = await crypto.sign({ sub: "customer-42" });
      const newKeyId = await crypto.rotateKey();
      expect(newKeyId).not.toBe(before.keyId);

      const after = await crypto.sign({ sub: "customer-43" });
      expect(after.keyId).toBe(newKeyId);
      expect(await crypto.verify(before.token)).toMatchObject({ sub: "customer-42" });
      expect(await crypto.verify(after.token)).toMatchObject({ sub: "customer-43" });
    });

    it.runIf(declared.magicLinks)("magic link works once", async () => {
      const { crypto } = await start();
      const link = await crypto.createMagicLink("buyer@example.com", { purpose: "login" });
      expect(Date.parse(link.expiresAt)).toBeGreaterThan(Date.now());

      expect(await crypto.consumeMagicLink(link.token, { purpose: "login" })).toBe("buyer@example.com");
      await expectBridgeError(crypto.consumeMagicLink(link.token, { purpose: "login" }), "TOKEN_REUSED");
    });

    it.runIf(declared.magicLinks)("expired magic link is rejected", async () => {
      const { crypto, advance, ttlMs, pastTtlMs } = await start();
      const link = await crypto.createMagicLink("buyer@example.com", { ttlMs });
      await advance(pastTtlMs);
      await expectBridgeError(crypto.consumeMagicLink(link.token), "TOKEN_EXPIRED");
    });

    it.runIf(declared.magicLinks)("magic link checks its purpose", async () => {
      const { crypto } = await start();
      const link = await crypto.createMagicLink("buyer@example.com", { purpose: "login" });
      await expectBridgeError(crypto.consumeMagicLink(link.token, { purpose: "reset-password" }), "TOKEN_INVALID");
      await expectBridgeError(crypto.consumeMagicLink("forged-token"), "TOKEN_INVALID");
      expect(await crypto.consumeMagicLink(link.token, { purpose: "login" }), "a rejected purpose must not use up the link").toBe(
        "buyer@example.com",
      );
    });
  }, { caseTimeoutMs: options.caseTimeoutMs });
}
