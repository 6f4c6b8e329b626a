// Crypto role on node:crypto alone: scrypt password hashes in PHC string
// format, HMAC-SHA256 signed tokens with key ids for rotation, and single-use
// magic links of which only a SHA-256 hash of the token is stored.
import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { BridgeError, ValidationError, type BridgeErrorCode } from "../errors.js";
import type { CryptoRole, MagicLink, SignedToken } from "../roles/crypto.js";
import { currentTenantId } from "../tenant.js";

export interface SigningKey {
  /** Named in each token's header, so a token finds its key after rotation. */
  id: string;
  /** At least 32 bytes; a string is taken as UTF-8. */
  secret: string | Uint8Array;
}

/** A magic link as stored: the token itself is never kept, only its SHA-256 hash. */
export interface MagicLinkRecord {
  tokenHash: string;
  subject: string;
  purpose: string;
  /** Tenant that created the link; another tenant cannot consume it. */
  tenantId: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Epoch milliseconds of the first use; null while unused. */
  usedAt: number | null;
}

/** Storage of magic link records, such as a database table; in memory when none is given. */
export interface MagicLinkStore {
  save(record: MagicLinkRecord): Promise<void>;
  get(tokenHash: string): Promise<MagicLinkRecord | undefined>;
  /**
   * Sets `usedAt` only if the link is still unused and returns whether it did.
   * Must be atomic (compare-and-set), so two concurrent uses cannot both succeed.
   */
  markUsed(tokenHash: string, usedAt: number): Promise<boolean>;
}

export interface NodeCryptoOptions {
  /** Signing keys, oldest first; the last one signs. A random key is made when absent, so tokens do not outlive the process. */
  keys?: SigningKey[];
  /** Clock in epoch milliseconds; `Date.now` when absent. */
  now?: () => number;
  magicLinkStore?: MagicLinkStore;
  /** scrypt cost of new password hashes; ln=15 (N=32768), r=8, p=1 when absent, about 32 MiB per hash. */
  passwordCost?: { ln: number; r: number; p: number };
}

const PROVIDER = "node-crypto";
const MIN_KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const DEFAULT_COST = { ln: 15, r: 8, p: 1 };
/** Limits on costs read from a stored hash, so a hostile PHC string cannot ask for gigabytes. */
const MAX_LN = 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_SCRYPT_MEMORY = 512 * 1024 * 1024;
/** Long passwords cost the same to hash; the cap only bounds request size. */
const MAX_PASSWORD_LENGTH = 1024;
const MAX_TOKEN_LENGTH = 16 * 1024;
const DEFAULT_MAGIC_LINK_TTL_MS = 15 * 60 * 1000;
const DEFAULT_PURPOSE = "login";
const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{16,})$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

interface TokenHeader {
  alg: "HS256";
  kid: string;
  /** Issued at, epoch milliseconds. */
  iat: number;
  /** Expiry, epoch milliseconds; absent when the token does not expire. */
  exp?: number;
}

/** Creates the crypto role on `node:crypto`. */
export function createNodeCrypto(options: NodeCryptoOptions = {}): CryptoRole {
  const now = options.now ?? Date.now;
  const store = options.magicLinkStore ?? createMemoryMagicLinkStore(now);
  const cost = options.passwordCost ?? DEFAULT_COST;
  checkCost(cost, (message) => new ValidationError(`Invalid passwordCost: ${message}`, context()));

  const keys = new Map<string, Buffer>();
  let activeKeyId = "";
  for (const key of options.keys ?? [{ id: newKeyId(), secret: randomBytes(MIN_KEY_BYTES) }]) {
    addKey(key);
  }
  if (keys.size === 0) {
    throw new ValidationError("keys of the node crypto is empty: pass at least one { id, secret }, or leave keys out for a random key", context());
  }

  function addKey(key: SigningKey): void {
    if (typeof key?.id !== "string" || !KEY_ID.test(key.id)) {
      throw new ValidationError(`Signing key id ${JSON.stringify(key?.id)} is invalid: use 1-64 letters, digits, "_" or "-"`, context());
    }
    if (keys.has(key.id)) throw new ValidationError(`Signing key id "${key.id}" is given twice: give each key its own id`, context());
    const secret = typeof key.secret === "string" ? Buffer.from(key.secret, "utf8") : Buffer.from(key.secret ?? []);
    if (secret.length < MIN_KEY_BYTES) {
      throw new ValidationError(
        `Signing key "${key.id}" has ${secret.length} bytes, below the minimum of ${MIN_KEY_BYTES} for HMAC-SHA256: use a random secret such as randomBytes(32)`,
        context({ keyId: key.id }),
      );
    }
    keys.set(key.id, secret);
    activeKeyId = key.id;
  }

  return {
    capabilities: { keyRotation: true, magicLinks: true },

    async hashPassword(password) {
      const normalized = checkPassword(password);
      const salt = randomBytes(SALT_BYTES);
      const hash = await deriveKey(normalized, salt, HASH_BYTES, cost);
      return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${unpadded(salt)}$${unpadded(hash)}`;
    },

    async verifyPassword(password, phc) {
      const normalized = checkPassword(password);
      const parsed = parsePhc(phc);
      const derived = await deriveKey(normalized, parsed.salt, parsed.hash.length, parsed.cost);
      return timingSafeEqual(derived, parsed.hash);
    },

    async sign(payload, signOptions = {}) {
      if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
        throw new ValidationError(`sign takes a JSON object as payload, got ${describe(payload)}`, context());
      }
      const expiresInMs = signOptions.expiresInMs;
      if (expiresInMs !== undefined && !(Number.isFinite(expiresInMs) && expiresInMs > 0)) {
        throw new ValidationError(`expiresInMs must be a number of milliseconds above 0, got ${describe(expiresInMs)}`, context());
      }

      const issuedAt = now();
      const header: TokenHeader = { alg: "HS256", kid: activeKeyId, iat: issuedAt };
      if (expiresInMs !== undefined) header.exp = issuedAt + expiresInMs;
      let payloadJson: string;
      try {
        payloadJson = JSON.stringify(payload);
      } catch (error) {
        throw new ValidationError(`sign could not serialize the payload to JSON (${(error as Error).message}): pass plain JSON values`, { ...context(), cause: error });
      }
      const signingInput = `${base64url(JSON.stringify(header))}.${base64url(payloadJson)}`;
      const signature = hmac(keys.get(activeKeyId)!, signingInput);
      return { token: `${signingInput}.${signature.toString("base64url")}`, keyId: activeKeyId } satisfies SignedToken;
    },

    async verify<T = Record<string, unknown>>(token: string): Promise<T> {
      const parts = typeof token === "string" && token.length <= MAX_TOKEN_LENGTH ? token.split(".") : [];
      if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) {
        throw tokenError("TOKEN_INVALID", "Token is malformed: expected three base64url parts separated by dots, as sign() returns");
      }
      const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];

      const header = parseJson(encodedHeader) as Partial<TokenHeader> | undefined;
      if (header?.alg !== "HS256" || typeof header.kid !== "string") {
        throw tokenError("TOKEN_INVALID", "Token header is invalid: expected alg HS256 and a kid");
      }
      const key = keys.get(header.kid);
      if (key === undefined) {
        throw tokenError("TOKEN_INVALID", `Token was signed with key "${header.kid}", which this service does not have: pass that key in keys, or sign a new token`, {
          keyId: header.kid,
        });
      }
      const expected = hmac(key, `${encodedHeader}.${encodedPayload}`);
      const given = Buffer.from(encodedSignature, "base64url");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw tokenError("TOKEN_INVALID", "Token signature does not match: the token was changed or signed elsewhere", { keyId: header.kid });
      }

      // Expiry is checked after the signature, so a forged token learns nothing about it.
      if (header.exp !== undefined && typeof header.exp !== "number") throw tokenError("TOKEN_INVALID", "Token header has an exp that is not a number");
      if (header.exp !== undefined && now() >= header.exp) {
        throw tokenError("TOKEN_EXPIRED", `Token expired at ${new Date(Number(header.exp)).toISOString()}: sign a new one`, { expiredAt: header.exp });
      }
      const payload = parseJson(encodedPayload);
      if (typeof payload !== "object" || payload === null) throw tokenError("TOKEN_INVALID", "Token payload is not a JSON object");
      return payload as T;
    },

    async rotateKey() {
      const id = newKeyId();
      addKey({ id, secret: randomBytes(MIN_KEY_BYTES) });
      // NOTE: rotated keys live in memory only; tokens they signed fail verify after a restart unless the keys are passed in again.
      return id;
    },

    async createMagicLink(subject, linkOptions = {}) {
      if (typeof subject !== "string" || subject.length === 0) {
        throw new ValidationError(`Magic link subject must be a non-empty string such as a user id, got ${describe(subject)}`, context());
      }
      const ttlMs = linkOptions.ttlMs ?? DEFAULT_MAGIC_LINK_TTL_MS;
      if (!(Number.isFinite(ttlMs) && ttlMs > 0)) {
        throw new ValidationError(`Magic link ttlMs must be a number of milliseconds above 0, got ${describe(ttlMs)}`, context());
      }
      const purpose = checkPurpose(linkOptions.purpose);

      const token = randomBytes(32).toString("base64url");
      const expiresAt = now() + ttlMs;
      await store.save({ tokenHash: sha256(token), subject, purpose, tenantId: currentTenantId(), expiresAt, usedAt: null });
      return { token, expiresAt: new Date(expiresAt).toISOString() } satisfies MagicLink;
    },

    async consumeMagicLink(token, consumeOptions = {}) {
      const purpose = checkPurpose(consumeOptions.purpose);
      if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH || !BASE64URL.test(token)) {
        throw tokenError("TOKEN_INVALID", "Magic link token is malformed: pass the token that createMagicLink returned");
      }
      const tokenHash = sha256(token);
      const record = await store.get(tokenHash);
      // A link of another tenant reads as unknown, so tenants learn nothing about each other's links.
      if (record === undefined || record.tenantId !== currentTenantId()) {
        throw tokenError("TOKEN_INVALID", "Magic link is unknown: it was never issued here, or it was removed after expiring; ask for a new link");
      }
      if (record.purpose !== purpose) {
        throw tokenError("TOKEN_INVALID", `Magic link was issued for purpose "${record.purpose}", not "${purpose}": use it where it was meant for`, {
          purpose: record.purpose,
          expected: purpose,
        });
      }
      if (record.usedAt !== null) {
        throw tokenError("TOKEN_REUSED", `Magic link was already used at ${new Date(record.usedAt).toISOString()}: each link works once; ask for a new link`);
      }
      const at = now();
      if (at >= record.expiresAt) {
        throw tokenError("TOKEN_EXPIRED", `Magic link expired at ${new Date(record.expiresAt).toISOString()}: ask for a new link`);
      }
      if (!(await store.markUsed(tokenHash, at))) {
        throw tokenError("TOKEN_REUSED", "Magic link was used by another request at the same moment: each link works once; ask for a new link");
      }
      return record.subject;
    },
  };
}

/**
 * Creates the in-memory magic link store. Records are kept until a day after
 * they expire, so a late reuse still reads as reused or expired, then dropped.
 */
export function createMemoryMagicLinkStore(now: () => number = Date.now): MagicLinkStore {
  const records = new Map<string, MagicLinkRecord>();
  const keepAfterExpiryMs = 24 * 60 * 60 * 1000;

  return {
    async save(record) {
      const at = now();
      for (const [hash, stored] of records) {
        if (stored.expiresAt + keepAfterExpiryMs < at) records.delete(hash);
      }
      records.set(record.tokenHash, { ...record });
    },
    async get(tokenHash) {
      const record = records.get(tokenHash);
      return record === undefined ? undefined : { ...record };
    },
    async markUsed(tokenHash, usedAt) {
      const record = records.get(tokenHash);
      if (record === undefined || record.usedAt !== null) return false;
      record.usedAt = usedAt;
      return true;
    },
  };
}

function context(details?: Record<string, unknown>) {
  return { role: "crypto" as const, integration: PROVIDER, tenantId: currentTenantId(), ...(details ? { details } : {}) };
}

function tokenError(code: BridgeErrorCode, message: string, details?: Record<string, unknown>): BridgeError {
  return new BridgeError(message, { ...context(details), code });
}

function checkPassword(password: unknown): string {
  if (typeof password !== "string" || password.length === 0 || password.length > MAX_PASSWORD_LENGTH) {
    throw new ValidationError(`Password must be a string of 1-${MAX_PASSWORD_LENGTH} characters, got ${typeof password === "string" ? `${password.length} characters` : typeof password}`, context());
  }
  // NFKC, so that the same password typed on different keyboards or systems hashes the same.
  return password.normalize("NFKC");
}

function checkPurpose(purpose: unknown): string {
  const value = purpose ?? DEFAULT_PURPOSE;
  if (typeof value !== "string" || value.length === 0 || value.length > 64) {
    throw new ValidationError(`Magic link purpose must be a string of 1-64 characters such as "login", got ${describe(purpose)}`, context());
  }
  return value;
}

function checkCost(cost: { ln: number; r: number; p: number }, error: (message: string) => Error): void {
  const { ln, r, p } = cost ?? {};
  if (![ln, r, p].every((value) => Number.isInteger(value) && value >= 1) || ln > MAX_LN || r > MAX_R || p > MAX_P) {
    throw error(`expected integers ln 1-${MAX_LN}, r 1-${MAX_R}, p 1-${MAX_P}, got ${describe(cost)}`);
  }
  if (scryptMemory(cost) > MAX_SCRYPT_MEMORY) {
    throw error(`ln=${ln}, r=${r} needs ${Math.round(scryptMemory(cost) / 1024 / 1024)} MiB, above the limit of ${MAX_SCRYPT_MEMORY / 1024 / 1024} MiB`);
  }
}

function scryptMemory(cost: { ln: number; r: number }): number {
  return 128 * 2 ** cost.ln * cost.r;
}

function parsePhc(phc: unknown): { cost: { ln: number; r: number; p: number }; salt: Buffer; hash: Buffer } {
  const invalid = (reason: string) =>
    new ValidationError(`Password hash is not a valid scrypt PHC string (${reason}): expected $scrypt$ln=..,r=..,p=..$<salt>$<hash> as hashPassword returns`, context());
  const match = typeof phc === "string" ? PHC.exec(phc) : null;
  if (match === null) throw invalid("wrong format");
  const cost = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  checkCost(cost, invalid);
  const salt = Buffer.from(match[4]!, "base64");
  const hash = Buffer.from(match[5]!, "base64");
  if (hash.length < 16 || hash.length > 64) throw invalid(`hash of ${hash.length} bytes, expected 16-64`);
  return { cost, salt, hash };
}

function deriveKey(password: string, salt: Buffer, length: number, cost: { ln: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** cost.ln, r: cost.r, p: cost.p, maxmem: scryptMemory(cost) + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, options, (error, derived) => (error ? reject(error) : resolve(derived)));
  });
}

function hmac(key: Buffer, input: string): Buffer {
  return createHmac("sha256", key).update(input).digest();
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Standard base64 without padding, as the PHC string format writes it. */
function unpadded(bytes: Buffer): string {
  return bytes.toString("base64").replace(/=+$/, "");
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

function parseJson(encoded: string): unknown {
  try {
    return JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

function newKeyId(): string {
  return `k-${randomBytes(6).toString("base64url")}`;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
