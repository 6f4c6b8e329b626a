// Options of the MongoDB provider, their defaults, and the environment
// variables that `createBridgeFromEnv` reads for them.
import { ConfigError, type ConfigProblem } from "@bridge/core";
import { z } from "zod";

export const PACKAGE_NAME = "@bridge/mongodb";

export const READ_PREFERENCES = ["primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest"] as const;
export const READ_CONCERNS = ["local", "available", "majority", "linearizable", "snapshot"] as const;

export type ReadPreferenceMode = (typeof READ_PREFERENCES)[number];
export type ReadConcernLevel = (typeof READ_CONCERNS)[number];

/**
 * Document locks for writes that read and then change one document. MongoDB
 * applies a conditional update atomically on its own. FerretDB 1.x reads the
 * document and writes it back in two steps, so two concurrent conditional
 * updates can both pass their filter. With locks on, each such write first
 * takes a short lease in the `bridge_locks` collection.
 */
export type DocumentLocks = "auto" | "on" | "off";

export interface MongoOptions {
  /** Connection string, such as `mongodb://127.0.0.1:27017`. Required. A password in it is masked in every error and log. */
  uri: string;
  /** Database holding every collection. Default "bridge". */
  database?: string;
  /** Integration name, used in `bridge.integrations.<name>` and role assignments. Default "mongodb". */
  name?: string;
  /** Largest number of pooled connections. Default 20. */
  maxPoolSize?: number;
  /** Connections kept open when idle. Default 0. */
  minPoolSize?: number;
  /** Database that contains the user's credentials. Default: the driver's (the URI's, else "admin"). */
  authSource?: string;
  /** User name, when not given in the URI. Default none. */
  username?: string;
  /** Password, when not given in the URI. Default none. Never logged. */
  password?: string;
  /** Servers that reads may use. Default "primary". */
  readPreference?: ReadPreferenceMode;
  /** Acknowledgement that writes wait for: "majority" or a number of members. Default "majority". */
  writeConcern?: "majority" | number;
  /** Isolation of reads. Default "local". */
  readConcern?: ReadConcernLevel;
  /** Days after which log entries are deleted, by a TTL index or the periodic cleanup. Default 14. */
  logsTtlDays?: number;
  /** Time in ms to find a reachable server before an operation fails with UnavailableError. Default 2000. */
  serverSelectionTimeoutMs?: number;
  /** Time in ms to open a TCP connection. Default 2000. */
  connectTimeoutMs?: number;
  /** Interval in ms of the log cleanup that replaces a TTL index on servers without one. Default 3 600 000 (1 hour). */
  logsCleanupIntervalMs?: number;
  /** See DocumentLocks. Default "auto": on when the server is FerretDB, off otherwise. */
  documentLocks?: DocumentLocks;
  /** Time in ms a document lock is held before another writer may take it over. Default 10 000. */
  lockLeaseMs?: number;
  /** Maximum time in ms a write waits for a document lock before it fails with TimeoutError. Default 15 000. */
  lockWaitMs?: number;
  /** Round-trip time in ms above which health reports "degraded". Default 1000. */
  degradedLatencyMs?: number;
}

export type ResolvedOptions = Required<Omit<MongoOptions, "authSource" | "username" | "password">> &
  Pick<MongoOptions, "authSource" | "username" | "password">;

export const DEFAULTS = {
  database: "bridge",
  name: "mongodb",
  maxPoolSize: 20,
  minPoolSize: 0,
  readPreference: "primary",
  writeConcern: "majority",
  readConcern: "local",
  logsTtlDays: 14,
  serverSelectionTimeoutMs: 2000,
  connectTimeoutMs: 2000,
  logsCleanupIntervalMs: 3_600_000,
  documentLocks: "auto",
  lockLeaseMs: 10_000,
  lockWaitMs: 15_000,
  degradedLatencyMs: 1000,
} as const satisfies Partial<MongoOptions>;

/** Database names MongoDB accepts: no `/\. "$*<>:|?`, at most 63 bytes. */
const DATABASE_NAME = /^[^/\\. "$*<>:|?]{1,63}$/;
const INTEGRATION_NAME = /^[a-z][a-z0-9-]*$/;

/** Replaces the password in a connection string with `****`. */
export function maskUri(uri: string): string {
  return uri.replace(/(\/\/[^:/@\s]*:)[^@\s]*@/g, "$1****@");
}

const uriSchema = z
  .string({ required_error: "required: a connection string such as mongodb://127.0.0.1:27017" })
  .trim()
  .refine((value) => /^mongodb(\+srv)?:\/\/[^\s]+$/.test(value), {
    message: "expected a connection string that starts with mongodb:// or mongodb+srv://, such as mongodb://127.0.0.1:27017",
  });

const positiveInt = (what: string) =>
  z.number({ invalid_type_error: `expected ${what} as a whole number` }).int(`expected ${what} as a whole number`).positive(`expected ${what} above 0`);

const optionsSchema = z
  .object({
    uri: uriSchema,
    database: z.string().regex(DATABASE_NAME, "expected a database name of 1 to 63 characters without / \\ . space \" $ * < > : | ?").default(DEFAULTS.database),
    name: z.string().regex(INTEGRATION_NAME, "expected a lower-case name such as mongodb or orders-db").default(DEFAULTS.name),
    maxPoolSize: positiveInt("a connection count").default(DEFAULTS.maxPoolSize),
    minPoolSize: z.number().int("expected a whole number").nonnegative("expected 0 or more").default(DEFAULTS.minPoolSize),
    authSource: z.string().min(1, "expected a database name").optional(),
    username: z.string().min(1, "expected a user name").optional(),
    password: z.string().min(1, "expected a password").optional(),
    readPreference: z.enum(READ_PREFERENCES, { message: `expected one of ${READ_PREFERENCES.join(", ")}` }).default(DEFAULTS.readPreference),
    writeConcern: z
      .union([z.literal("majority"), z.number().int().nonnegative()], { message: 'expected "majority" or a whole number of members such as 1' })
      .default(DEFAULTS.writeConcern),
    readConcern: z.enum(READ_CONCERNS, { message: `expected one of ${READ_CONCERNS.join(", ")}` }).default(DEFAULTS.readConcern),
    logsTtlDays: positiveInt("a number of days").default(DEFAULTS.logsTtlDays),
    serverSelectionTimeoutMs: positiveInt("a time in ms").default(DEFAULTS.serverSelectionTimeoutMs),
    connectTimeoutMs: positiveInt("a time in ms").default(DEFAULTS.connectTimeoutMs),
    logsCleanupIntervalMs: positiveInt("a time in ms").default(DEFAULTS.logsCleanupIntervalMs),
    documentLocks: z.enum(["auto", "on", "off"], { message: "expected auto, on or off" }).default(DEFAULTS.documentLocks),
    lockLeaseMs: positiveInt("a time in ms").default(DEFAULTS.lockLeaseMs),
    lockWaitMs: positiveInt("a time in ms").default(DEFAULTS.lockWaitMs),
    degradedLatencyMs: positiveInt("a time in ms").default(DEFAULTS.degradedLatencyMs),
  })
  .strict()
  .superRefine((options, ctx) => {
    if (options.minPoolSize > options.maxPoolSize) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["minPoolSize"], message: `must not exceed maxPoolSize (${options.maxPoolSize})` });
    }
    if (options.password !== undefined && options.username === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["password"], message: "is set without a username; set username too" });
    }
  });

/**
 * Validates the options of `mongodb(options)` and fills in the defaults.
 * Throws ConfigError naming each bad option, its value (passwords masked)
 * and what is expected.
 */
export function resolveOptions(options: MongoOptions): ResolvedOptions {
  const parsed = optionsSchema.safeParse(options ?? {});
  if (parsed.success) return parsed.data;

  const problems: ConfigProblem[] = parsed.error.issues.map((issue) => {
    const option = String(issue.path[0] ?? "options");
    const raw = (options as unknown as Record<string, unknown> | undefined)?.[option];
    return { variable: `${PACKAGE_NAME} option ${option}`, value: maskOptionValue(option, raw), message: issue.message };
  });
  throw new ConfigError(problems, { integration: typeof options?.name === "string" ? options.name : DEFAULTS.name });
}

function maskOptionValue(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (option === "password") return "****";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return maskUri(text ?? String(value));
}

// ---- environment

const envPositiveInt = (what: string) =>
  z.coerce.number({ invalid_type_error: `expected ${what} as a whole number` }).int(`expected ${what} as a whole number`).positive(`expected ${what} above 0`);

/** Variables read by `createBridgeFromEnv`; the schema covers the whole environment and ignores other variables. */
export const envSchema = z
  .object({
    MONGODB_URI: uriSchema.default("mongodb://127.0.0.1:27017"),
    MONGODB_DATABASE: z
      .string()
      .regex(DATABASE_NAME, "expected a database name of 1 to 63 characters without / \\ . space \" $ * < > : | ?")
      .default(DEFAULTS.database),
    MONGODB_MAX_POOL_SIZE: envPositiveInt("a connection count").default(DEFAULTS.maxPoolSize),
    MONGODB_MIN_POOL_SIZE: z.coerce
      .number({ invalid_type_error: "expected a whole number of connections" })
      .int("expected a whole number of connections")
      .nonnegative("expected 0 or more connections")
      .default(DEFAULTS.minPoolSize),
    MONGODB_AUTH_SOURCE: z.string().min(1, "expected the name of the database holding the user").optional(),
    MONGODB_USERNAME: z.string().min(1, "expected a user name").optional(),
    MONGODB_PASSWORD: z.string().min(1, "expected a password").optional(),
    MONGODB_READ_PREFERENCE: z.enum(READ_PREFERENCES, { message: `expected one of ${READ_PREFERENCES.join(", ")}` }).default(DEFAULTS.readPreference),
    MONGODB_WRITE_CONCERN: z
      .string()
      .regex(/^(majority|[0-9]+)$/, 'expected "majority" or a whole number of members such as 1')
      .default(DEFAULTS.writeConcern)
      .transform((value): "majority" | number => (value === "majority" ? "majority" : Number(value))),
    MONGODB_READ_CONCERN: z.enum(READ_CONCERNS, { message: `expected one of ${READ_CONCERNS.join(", ")}` }).default(DEFAULTS.readConcern),
    MONGODB_LOGS_TTL_DAYS: envPositiveInt("a number of days").default(DEFAULTS.logsTtlDays),
  })
  .passthrough()
  // A separate schema, so these checks report together with the per-variable ones instead of after them.
  .and(
    z
      .record(z.unknown())
      .superRefine((env, ctx) => {
        const min = Number(env.MONGODB_MIN_POOL_SIZE ?? DEFAULTS.minPoolSize);
        const max = Number(env.MONGODB_MAX_POOL_SIZE ?? DEFAULTS.maxPoolSize);
        if (Number.isInteger(min) && Number.isInteger(max) && min > max) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["MONGODB_MIN_POOL_SIZE"], message: `must not exceed MONGODB_MAX_POOL_SIZE (${max})` });
        }
        if (env.MONGODB_PASSWORD !== undefined && env.MONGODB_USERNAME === undefined) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["MONGODB_PASSWORD"], message: "is set without MONGODB_USERNAME; set the user name too" });
        }
      })
      // Contributes no values, so the intersection keeps the parsed ones from the left.
      .transform(() => ({})),
  );

export type MongoEnv = z.output<typeof envSchema>;

export const SECRET_VARIABLES = ["MONGODB_PASSWORD"] as const;

/** Maps validated variables to options. */
export function optionsFromEnv(env: MongoEnv): MongoOptions {
  return {
    uri: env.MONGODB_URI,
    database: env.MONGODB_DATABASE,
    maxPoolSize: env.MONGODB_MAX_POOL_SIZE,
    minPoolSize: env.MONGODB_MIN_POOL_SIZE,
    authSource: env.MONGODB_AUTH_SOURCE,
    username: env.MONGODB_USERNAME,
    password: env.MONGODB_PASSWORD,
    readPreference: env.MONGODB_READ_PREFERENCE,
    writeConcern: env.MONGODB_WRITE_CONCERN,
    readConcern: env.MONGODB_READ_CONCERN,
    logsTtlDays: env.MONGODB_LOGS_TTL_DAYS,
  };
}
