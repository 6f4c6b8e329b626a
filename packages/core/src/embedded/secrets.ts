// Secrets role over environment variables and a `.env` file (parsed by the
// dotenv package). Variables already in the environment win over the file,
// as dotenv does when it loads a file.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parse as parseDotenv } from "dotenv";
import { BridgeError, ValidationError } from "../errors.js";
import type { SecretsRole, SecretValue } from "../roles/secrets.js";
import { currentTenantId } from "../tenant.js";

export interface EnvSecretsOptions {
  /** Variables to read; `process.env` when absent. */
  env?: Record<string, string | undefined>;
  /** `.env` file read after `env`; none when absent. A missing file is not an error. */
  dotenvPath?: string;
  /** How long a value (and the parsed `.env` file) is reused, in milliseconds; 60000 when absent, 0 turns caching off. */
  ttlMs?: number;
}

const PROVIDER = "env";
const DEFAULT_TTL_MS = 60_000;
/** The only version an environment variable has. */
const LATEST = "latest";
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `secret:NAME` or `secret:NAME@VERSION`; the name is checked separately for a clearer error. */
const REFERENCE = /^secret:([^@]*)(?:@(.*))?$/;

interface CachedValue {
  value: string;
  expiresAt: number;
}

interface DotenvFile {
  /** null when the file does not exist. */
  values: Record<string, string> | null;
  expiresAt: number;
}

/** Creates the secrets role over environment variables and an optional `.env` file. */
export function createEnvSecrets(options: EnvSecretsOptions = {}): SecretsRole {
  const env = options.env ?? process.env;
  const dotenvPath = options.dotenvPath === undefined ? undefined : resolve(options.dotenvPath);
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new ValidationError(`ttlMs of the env secrets must be 0 or more milliseconds, got ${JSON.stringify(ttlMs)}`, {
      role: "secrets",
      integration: PROVIDER,
    });
  }

  const cache = new Map<string, CachedValue>();
  let dotenvFile: Promise<DotenvFile> | undefined;

  async function readDotenv(now: number): Promise<Record<string, string> | null> {
    if (dotenvPath === undefined) return null;
    let file = dotenvFile === undefined ? undefined : await dotenvFile;
    if (file === undefined || file.expiresAt <= now) {
      dotenvFile = loadDotenv(dotenvPath, now + ttlMs);
      // A failed read is not cached, so the next call tries again.
      dotenvFile.catch(() => (dotenvFile = undefined));
      file = await dotenvFile;
    }
    return file.values;
  }

  /** Looks a name up without the cache; undefined when neither place has a non-empty value. */
  async function lookup(name: string, now: number): Promise<{ value: string | undefined; fileFound: boolean }> {
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, fileFound: false };
    const values = await readDotenv(now);
    const fromFile = values?.[name];
    return { value: fromFile === "" ? undefined : fromFile, fileFound: values !== null };
  }

  async function get(name: string, version: string | undefined): Promise<SecretValue> {
    if (typeof name !== "string" || !SECRET_NAME.test(name)) {
      throw new ValidationError(
        `Secret name ${JSON.stringify(name)} is invalid: use letters, digits and "_", starting with a letter or "_", as environment variables do`,
        context({ name }),
      );
    }
    if (version !== undefined && version !== LATEST) {
      throw new BridgeError(
        `Secret "${name}" was asked for at version ${JSON.stringify(version)}, but environment variables have no versions: drop the version, or use a secrets provider with versions such as google-secret-manager`,
        { ...context({ name, version }), code: "NOT_SUPPORTED" },
      );
    }

    const now = Date.now();
    const cached = cache.get(name);
    if (cached !== undefined && cached.expiresAt > now) return { name, version: LATEST, value: cached.value };

    const found = await lookup(name, now);
    if (found.value === undefined) throw notFound([name], found.fileFound);
    if (ttlMs > 0) cache.set(name, { value: found.value, expiresAt: now + ttlMs });
    return { name, version: LATEST, value: found.value };
  }

  function notFound(names: string[], fileFound: boolean, paths?: string[]): BridgeError {
    const where =
      dotenvPath === undefined
        ? "the process environment (no .env file configured)"
        : `the process environment and ${dotenvPath}${fileFound ? "" : " (file not found)"}`;
    const list = names.map((name, i) => (paths?.[i] ? `"${name}" (at ${paths[i]})` : `"${name}"`)).join(", ");
    const fix = dotenvPath === undefined ? "set it in the environment" : `set it in the environment or add NAME=value to ${dotenvPath}`;
    return new BridgeError(`Secret ${list} not found or empty: looked in ${where}; ${fix}`, {
      ...context({ names, ...(paths ? { paths } : {}) }),
      code: "SECRET_NOT_FOUND",
    });
  }

  return {
    capabilities: { versions: false, rotation: false },

    async get(name, getOptions) {
      return get(name, getOptions?.version);
    },

    async resolveReferences<T>(value: T): Promise<T> {
      const references: Array<{ path: string; name: string; version: string | undefined }> = [];
      collectReferences(value, "", references, new Set());

      const values = new Map<string, string>();
      const missing: Array<{ name: string; path: string }> = [];
      let fileFound = false;
      for (const reference of references) {
        try {
          values.set(reference.name, (await get(reference.name, reference.version)).value);
        } catch (error) {
          if (!(error instanceof BridgeError) || error.code !== "SECRET_NOT_FOUND") throw error;
          missing.push(reference);
          fileFound ||= (await readDotenv(Date.now())) !== null;
        }
      }
      // One error names every missing secret, so a configuration is fixed in one go.
      if (missing.length > 0) {
        throw notFound(
          missing.map((entry) => entry.name),
          fileFound,
          missing.map((entry) => entry.path || "(root)"),
        );
      }
      return replaceReferences(value, values) as T;
    },
  };
}

function context(details?: Record<string, unknown>) {
  return { role: "secrets" as const, integration: PROVIDER, tenantId: currentTenantId(), ...(details ? { details } : {}) };
}

async function loadDotenv(path: string, expiresAt: number): Promise<DotenvFile> {
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { values: null, expiresAt };
    throw new BridgeError(`Reading the .env file ${path} failed (${code ?? "unknown error"}): check that it is a readable file`, {
      ...context({ path, code }),
      code: "UNAVAILABLE",
      retryable: true,
      cause: error,
    });
  }
  return { values: parseDotenv(content), expiresAt };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Finds every `secret:` string in plain objects and arrays, with its path such as `db.password` or `hosts[1]`. */
function collectReferences(
  value: unknown,
  path: string,
  found: Array<{ path: string; name: string; version: string | undefined }>,
  ancestors: Set<object>,
): void {
  if (typeof value === "string") {
    const match = REFERENCE.exec(value);
    if (match === null) return;
    const name = match[1] ?? "";
    if (!SECRET_NAME.test(name)) {
      throw new ValidationError(
        `Secret reference ${JSON.stringify(value)} at ${path || "(root)"} has an invalid name: use secret:NAME with letters, digits and "_"`,
        context({ path }),
      );
    }
    found.push({ path, name, version: match[2] });
    return;
  }

  if (!Array.isArray(value) && !isPlainObject(value)) return;
  if (ancestors.has(value)) {
    throw new ValidationError(`Configuration passed to resolveReferences refers to itself at ${path || "(root)"}: pass a tree of plain objects and arrays`, context({ path }));
  }
  ancestors.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, index) => collectReferences(item, `${path}[${index}]`, found, ancestors));
  } else {
    for (const [key, item] of Object.entries(value)) collectReferences(item, path ? `${path}.${key}` : key, found, ancestors);
  }
  ancestors.delete(value);
}

/** Copies plain objects and arrays, with each reference replaced by its value; other values are kept as they are. */
function replaceReferences(value: unknown, values: Map<string, string>): unknown {
  if (typeof value === "string") {
    const name = REFERENCE.exec(value)?.[1];
    return name !== undefined && values.has(name) ? values.get(name) : value;
  }
  if (Array.isArray(value)) return value.map((item) => replaceReferences(item, values));
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty, because assigning a "__proto__" key would change the copy's prototype.
      Object.defineProperty(copy, key, { value: replaceReferences(item, values), enumerable: true, writable: true, configurable: true });
    }
    return copy;
  }
  return value;
}
