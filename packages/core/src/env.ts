import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { ConfigError, ProviderNotInstalledError, ROLE_NAMES, type ConfigProblem, type MissingProvider, type RoleName } from "./errors.js";
import type { Integration, ProviderPackage } from "./integration.js";
import { LOG_LEVELS, type LogLevel } from "./roles/logs.js";
import { createBridge, EMBEDDED, type Bridge, type BridgeOptions, type RoleAssignments } from "./registry.js";

/** Providers published by Bridge for each role, used in messages; third-party `@bridge/<name>` packages load too. */
export const KNOWN_PROVIDERS: Readonly<Record<RoleName, readonly string[]>> = {
  queue: ["embedded", "kafka", "rabbitmq"],
  logs: ["embedded", "kafka", "rabbitmq", "mongodb"],
  notifications: ["embedded", "kafka", "rabbitmq"],
  data: ["embedded", "mongodb"],
  search: ["embedded", "opensearch"],
  email: ["embedded", "mailgun", "twilio"],
  sms: ["embedded", "twilio"],
  secrets: ["embedded", "google-secret-manager"],
  crypto: ["embedded", "crypto"],
  ai: ["openai"],
  catalog: ["medusa", "strapi"],
};

const providerName = z
  .string()
  .trim()
  .regex(/^[a-z][a-z0-9-]*$/, "expected a provider name in lower case letters, digits and dashes");

const providerList = z
  .string()
  .trim()
  .transform((value) => value.split(",").map((part) => part.trim()).filter(Boolean))
  .pipe(z.array(providerName).min(1, "expected at least one provider name, comma-separated"));

const booleanFlag = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "expected true or false" })
  .transform((value) => value === "true" || value === "1" || value === "yes");

const positiveMs = z.coerce
  .number({ message: "expected a whole number of milliseconds" })
  .int("expected a whole number of milliseconds")
  .positive("expected a number of milliseconds above 0");

/** Core's own variables. Each provider package validates its own next to these. */
const roleProvider = (role: RoleName) =>
  z
    .string()
    .trim()
    .regex(/^[a-z][a-z0-9-]*$/, `expected a provider name in lower case, such as ${KNOWN_PROVIDERS[role].join(", ")}`);

export const coreEnvSchema = z.object({
  BRIDGE_QUEUE: roleProvider("queue").optional(),
  BRIDGE_LOGS: providerList.optional(),
  BRIDGE_NOTIFICATIONS: roleProvider("notifications").optional(),
  BRIDGE_DATA: roleProvider("data").optional(),
  BRIDGE_SEARCH: roleProvider("search").optional(),
  BRIDGE_EMAIL: roleProvider("email").optional(),
  BRIDGE_SMS: roleProvider("sms").optional(),
  BRIDGE_SECRETS: roleProvider("secrets").optional(),
  BRIDGE_CRYPTO: roleProvider("crypto").optional(),
  BRIDGE_AI: roleProvider("ai").optional(),
  BRIDGE_CATALOG: roleProvider("catalog").optional(),
  BRIDGE_LOG_LEVEL: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]], { message: `expected one of ${LOG_LEVELS.join(", ")}` }).default("info"),
  BRIDGE_LOG_REDACT: z
    .string()
    .transform((value) => value.split(",").map((part) => part.trim()).filter(Boolean))
    .optional(),
  BRIDGE_LOG_STDERR: booleanFlag.default("true"),
  BRIDGE_OUTBOX_DIR: z.string().min(1, "expected a folder path").optional(),
  BRIDGE_DOTENV_PATH: z.string().min(1, "expected a file path").optional(),
  BRIDGE_DRAIN_MS: positiveMs.default(10_000),
});

export type CoreEnv = z.output<typeof coreEnvSchema>;

const ROLE_VARIABLES: Record<RoleName, keyof CoreEnv> = {
  queue: "BRIDGE_QUEUE",
  logs: "BRIDGE_LOGS",
  notifications: "BRIDGE_NOTIFICATIONS",
  data: "BRIDGE_DATA",
  search: "BRIDGE_SEARCH",
  email: "BRIDGE_EMAIL",
  sms: "BRIDGE_SMS",
  secrets: "BRIDGE_SECRETS",
  crypto: "BRIDGE_CRYPTO",
  ai: "BRIDGE_AI",
  catalog: "BRIDGE_CATALOG",
};

/** Variable names that always hold secrets, whatever a provider declares. */
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIALS/i;

export interface FromEnvOptions {
  /** Folder whose node_modules provide the provider packages; the working directory by default. */
  resolveFrom?: string;
  /** Loads a provider package by name; replaces the default module resolution (tests, bundlers). */
  loadProvider?: (packageName: string) => Promise<unknown>;
  /** Merged over what the environment gives. */
  overrides?: Omit<BridgeOptions, "integrations" | "roles">;
}

/**
 * Builds a Bridge from `BRIDGE_<ROLE>` variables and each provider's own
 * variables. Every invalid or missing variable is reported in one ConfigError.
 */
export async function createBridgeFromEnv(env: Record<string, string | undefined> = process.env, options: FromEnvOptions = {}): Promise<Bridge> {
  const core = coreEnvSchema.safeParse(env);
  const problems: ConfigProblem[] = core.success ? [] : zodProblems(core.error, env, new Set());
  const rawAssignments = readAssignments(env);

  const names = [...new Set(Object.values(rawAssignments).flat())].filter((name) => name !== EMBEDDED && providerName.safeParse(name).success);
  const { loaded, missing } = await loadProviders(names, rawAssignments, options);

  const integrations: Integration[] = [];
  for (const provider of loaded) {
    const secrets = new Set(provider.secretVariables);
    const parsed = provider.envSchema.safeParse(env);
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, env, secrets));
      continue;
    }
    integrations.push(provider.fromEnv(parsed.data));
  }
  if (missing.length > 0) throw new ProviderNotInstalledError(missing, problems);
  if (problems.length > 0 || !core.success) throw new ConfigError(problems);

  const config = core.data;
  const roles: RoleAssignments = {};
  for (const role of ROLE_NAMES) {
    const value = config[ROLE_VARIABLES[role]];
    if (value === undefined) continue;
    if (role === "logs") roles.logs = value as string[];
    else (roles as Record<string, string>)[role] = value as string;
  }

  return createBridge({
    integrations,
    roles,
    drainMs: config.BRIDGE_DRAIN_MS,
    logs: { minLevel: config.BRIDGE_LOG_LEVEL, redactPaths: config.BRIDGE_LOG_REDACT },
    embedded: {
      outboxDir: config.BRIDGE_OUTBOX_DIR,
      logs: { stderr: config.BRIDGE_LOG_STDERR, minLevel: config.BRIDGE_LOG_LEVEL },
      secrets: { env, dotenvPath: config.BRIDGE_DOTENV_PATH },
    },
    ...options.overrides,
  });
}

/** Provider names per role variable, read loosely so that loading can start before the schema passes. */
function readAssignments(env: Record<string, string | undefined>): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const variable of Object.values(ROLE_VARIABLES)) {
    const value = env[variable];
    if (value === undefined || value.trim() === "") continue;
    result[variable] = value.split(",").map((part) => part.trim()).filter(Boolean);
  }
  return result;
}

async function loadProviders(
  names: string[],
  assignments: Record<string, string[]>,
  options: FromEnvOptions,
): Promise<{ loaded: ProviderPackage[]; missing: MissingProvider[] }> {
  const missing: MissingProvider[] = [];
  const loaded: ProviderPackage[] = [];
  for (const name of names) {
    const packageName = `@bridge/${name}`;
    const variable = Object.entries(assignments).find(([, list]) => list.includes(name))?.[0] ?? "BRIDGE_*";
    const role = (Object.keys(ROLE_VARIABLES) as RoleName[]).find((candidate) => ROLE_VARIABLES[candidate] === variable);
    let module: unknown;
    try {
      module = options.loadProvider ? await options.loadProvider(packageName) : await importFrom(packageName, options.resolveFrom ?? process.cwd());
    } catch (error) {
      if (isModuleNotFound(error, packageName)) {
        missing.push({ provider: name, packageName, variable, known: role ? KNOWN_PROVIDERS[role] : [] });
        continue;
      }
      throw error;
    }
    loaded.push(extractProvider(module, packageName));
  }
  return { loaded, missing };
}

/** Imports the ESM entry of a package as installed next to `folder`, so providers share the app's copy of core. */
async function importFrom(packageName: string, folder: string): Promise<unknown> {
  const require = createRequire(join(resolve(folder), "noop.js"));
  const manifestPath = require.resolve(`${packageName}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { exports?: unknown; module?: string; main?: string };
  const entry = esmEntry(manifest) ?? manifest.main ?? "index.js";
  return import(pathToFileURL(join(dirname(manifestPath), entry)).href);
}

function esmEntry(manifest: { exports?: unknown; module?: string }): string | undefined {
  const root = (manifest.exports as Record<string, unknown> | undefined)?.["."];
  const importEntry = (root as Record<string, unknown> | undefined)?.import;
  if (typeof importEntry === "string") return importEntry;
  const nested = (importEntry as Record<string, unknown> | undefined)?.default;
  if (typeof nested === "string") return nested;
  return manifest.module;
}

function isModuleNotFound(error: unknown, packageName: string): boolean {
  const code = (error as { code?: string }).code;
  return (code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND") && String((error as Error).message).includes(packageName);
}

function extractProvider(module: unknown, packageName: string): ProviderPackage {
  const candidate = (module as { provider?: unknown; default?: { provider?: unknown } }).provider ?? (module as { default?: { provider?: unknown } }).default?.provider;
  const provider = candidate as ProviderPackage | undefined;
  if (!provider || typeof provider.fromEnv !== "function" || typeof provider.envSchema?.safeParse !== "function") {
    throw new ConfigError([
      {
        variable: packageName,
        value: undefined,
        message: `${packageName} does not export a Bridge provider (expected an export named "provider" with envSchema and fromEnv)`,
      },
    ]);
  }
  return provider;
}

function zodProblems(error: z.ZodError, env: Record<string, string | undefined>, secrets: Set<string>): ConfigProblem[] {
  return error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? "(environment)");
    const value = env[variable];
    const message = value === undefined && issue.code === "invalid_type" ? "required but not set" : issue.message;
    return { variable, value: maskValue(variable, value, secrets), message };
  });
}

/**
 * Hides secrets in a variable's value. Connection strings keep their shape
 * so a typo stays visible, with the password and query values masked; other
 * secret variables are masked whole.
 */
export function maskValue(variable: string, value: string | undefined, secrets: Set<string> = new Set()): string | undefined {
  if (value === undefined) return undefined;
  if (CONNECTION_NAME.test(variable)) {
    return maskUserInfo(value).replace(/([?&][^=&#\s]+=)[^&#\s]*/g, "$1****");
  }
  if (secrets.has(variable) || SECRET_NAME.test(variable)) return "****";
  return maskUserInfo(value);
}

/** Masks the password of `user:password@host`, with or without a scheme, even when the password has spaces. */
function maskUserInfo(value: string): string {
  if (value.includes("://")) return value.replace(/(\/\/[^:/@\s]+):[^@]*@/g, "$1:****@");
  return value.replace(/^([^:/@\s]+):[^@]*@/, "$1:****@");
}

const CONNECTION_NAME = /_(URL|URI|NODE|NODES|BROKERS)$/;
