import type { z } from "zod";
import type { RoleName } from "./errors.js";
import type { AiRole } from "./roles/ai.js";
import type { CatalogSyncRole } from "./roles/catalog.js";
import type { CryptoRole } from "./roles/crypto.js";
import type { DataRole } from "./roles/data/index.js";
import type { Logger, LogSink } from "./roles/logs.js";
import type { EmailRole, SmsRole } from "./roles/messaging.js";
import type { NotificationsRole } from "./roles/notifications.js";
import type { QueueRole } from "./roles/queue.js";
import type { SearchRole } from "./roles/search.js";
import type { SecretsRole } from "./roles/secrets.js";

/** Role modules an integration hands to the registry, one entry per role it provides. */
export interface RoleModules {
  queue?: QueueRole;
  logs?: LogSink;
  notifications?: NotificationsRole;
  /** A provider may supply only some data modules; the rest come from the embedded store. */
  data?: Partial<DataRole>;
  search?: SearchRole;
  email?: EmailRole;
  sms?: SmsRole;
  secrets?: SecretsRole;
  crypto?: CryptoRole;
  ai?: AiRole;
  catalog?: CatalogSyncRole;
}

export type HealthStatus = "up" | "degraded" | "down";

export interface HealthReport {
  status: HealthStatus;
  latencyMs?: number;
  detail?: Record<string, unknown>;
}

export interface IntegrationContext {
  /** Logs through the logs role, with `source` set to the integration name. */
  logger: Logger;
}

/**
 * One installed provider. `modules` exist from construction so that
 * `bridge.integrations.<name>.<module>` works before start; connecting
 * happens in `start` or lazily on first use.
 */
export interface Integration<M extends RoleModules = RoleModules> {
  readonly name: string;
  readonly roles: readonly RoleName[];
  readonly modules: M;
  start(context: IntegrationContext): Promise<void>;
  health(): Promise<HealthReport>;
  /** Stops consuming, waits for in-flight work up to `deadlineMs`, then closes connections. */
  stop(options: { deadlineMs: number }): Promise<void>;
}

/**
 * Export named `provider` of a provider package, so `createBridgeFromEnv`
 * can validate its variables and build it from the environment.
 */
export interface ProviderPackage<S extends z.ZodTypeAny = z.ZodTypeAny> {
  name: string;
  roles: readonly RoleName[];
  /** Schema over the whole environment object; unknown variables are ignored. */
  envSchema: S;
  /** Variable names whose values are masked in errors and logs. */
  secretVariables: readonly string[];
  fromEnv(config: z.output<S>): Integration;
}
