import type { SecretsCapabilities, SecretsRole } from "@bridge/core";
import { afterEach, expect, it } from "vitest";
import { describeConformance, expectBridgeError, InstanceTracker, newNamespace, type CaseTimeoutOptions } from "../harness.js";

export interface SecretsFactoryOptions {
  /** Secrets the instance must serve, by name. Names are upper case with digits and underscores. */
  secrets: Record<string, string>;
}

export interface SecretsInstance {
  secrets: SecretsRole;
  /**
   * Stores a new version of a secret, where the provider declares `versions`,
   * and returns the version id. Without it the versions case is skipped.
   */
  addVersion?: (name: string, value: string) => Promise<string>;
  cleanup?: () => Promise<void>;
}

export interface SecretsSuiteOptions extends CaseTimeoutOptions {
  /** One word that names the provider in test titles and in the conformance report. */
  provider: string;
  capabilities: SecretsCapabilities;
  /** Creates an instance that serves `options.secrets`, isolated by `namespace`. */
  create: (namespace: string, options: SecretsFactoryOptions) => Promise<SecretsInstance>;
}

/** Registers the secrets conformance cases. Call it at the top level of a vitest test file. */
export function runSecretsSuite(options: SecretsSuiteOptions): void {
  const declared = options.capabilities;
  const tracker = new InstanceTracker<SecretsInstance>();

  async function start() {
    const namespace = newNamespace();
    const prefix = namespace.toUpperCase();
    const names = { database: `${prefix}_DATABASE_PASSWORD`, apiKey: `${prefix}_MAILGUN_API_KEY`, missing: `${prefix}_NOT_SET` };
    const values = { database: "s3cr3t-ünïcode-$%", apiKey: "key-0123456789abcdef" };
    const instance = tracker.track(
      await options.create(namespace, { secrets: { [names.database]: values.database, [names.apiKey]: values.apiKey } }),
    );
    return { ...instance, names, values };
  }

  describeConformance({ role: "secrets", provider: options.provider, capabilities: declared }, () => {
    afterEach(async () => {
      for (const instance of tracker.drain()) await instance.cleanup?.();
    });

    it("declares its capabilities", async () => {
      const { secrets } = await start();
      expect(secrets.capabilities, "secrets.capabilities must equal what the provider declares to the kit").toEqual(declared);
    });

    it("get returns the value", async () => {
      const { secrets, names, values } = await start();
      const secret = await secrets.get(names.database);
      expect(secret.name).toBe(names.database);
      expect(secret.value).toBe(values.database);
      expect(typeof secret.version).toBe("string");
      expect(secret.version).toMatch(/\S/);
    });

    it("missing secret is not found", async () => {
      const { secrets, names, values } = await start();
      const error = await expectBridgeError(secrets.get(names.missing), "SECRET_NOT_FOUND", [names.missing]);
      expect(error.message, "an error must never contain a secret value").not.toContain(values.database);
    });

    it("empty name is rejected", async () => {
      const { secrets } = await start();
      await expectBridgeError(secrets.get(""), ["VALIDATION_FAILED", "SECRET_NOT_FOUND"]);
    });

    it("resolveReferences replaces references", async () => {
      const { secrets, names, values } = await start();
      const config = {
        database: { url: "mongodb://127.0.0.1:27017", password: `secret:${names.database}` },
        mail: [{ apiKey: `secret:${names.apiKey}`, region: "eu" }],
        retries: 3,
        enabled: true,
        note: "the form secret:NAME is a reference only at the start",
        missing: null,
      };
      const before = structuredClone(config);

      const resolved = await secrets.resolveReferences(config);
      expect(resolved).toEqual({
        database: { url: "mongodb://127.0.0.1:27017", password: values.database },
        mail: [{ apiKey: values.apiKey, region: "eu" }],
        retries: 3,
        enabled: true,
        note: "the form secret:NAME is a reference only at the start",
        missing: null,
      });
      expect(config, "resolveReferences must not change its input").toEqual(before);
    });

    it("unknown reference is not found", async () => {
      const { secrets, names } = await start();
      await expectBridgeError(
        secrets.resolveReferences({ smtp: { password: `secret:${names.missing}` } }),
        "SECRET_NOT_FOUND",
        [names.missing],
      );
    });

    it.runIf(declared.versions)("get returns a named version", async (context) => {
      const { secrets, names, values, addVersion } = await start();
      if (!addVersion) {
        context.skip(`provider ${options.provider} declares versions but gave no addVersion hook`);
        return;
      }
      const first = await secrets.get(names.database);
      const second = await addVersion(names.database, "rotated-value");
      expect(second).not.toBe(first.version);

      const pinned = await secrets.get(names.database, { version: first.version });
      expect(pinned.value).toBe(values.database);
      expect((await secrets.get(names.database, { version: second })).value).toBe("rotated-value");
      expect((await secrets.resolveReferences({ value: `secret:${names.database}@${first.version}` })).value).toBe(values.database);
    });
  }, { caseTimeoutMs: options.caseTimeoutMs });
}
