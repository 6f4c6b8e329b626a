import { DEFAULT_TENANT, runWithTenant } from "@bridge/core";
import type { FastifyRequest } from "fastify";
import { parseRequest, tenantIdSchema } from "./validation.js";

/** Runs `fn` for the tenant named in the `x-tenant-id` header, or the default tenant without one. */
export function inTenant<T>(request: FastifyRequest, fn: () => Promise<T>): Promise<T> {
  const header = request.headers["x-tenant-id"];
  const tenantId = header === undefined ? DEFAULT_TENANT : parseRequest(tenantIdSchema, header, "header");
  return runWithTenant(tenantId, fn);
}
