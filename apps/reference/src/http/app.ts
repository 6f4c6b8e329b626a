import type { Bridge } from "@bridge/core";
import Fastify, { type FastifyInstance } from "fastify";
import type { ImportReport } from "../catalog/import.js";
import { QuoteService, type QuoteServiceOptions } from "../orders/quotes.js";
import { registerBodyParsers } from "./body.js";
import { toHttpError } from "./errors.js";
import { registerProductRoutes } from "./products.js";
import { registerQuoteRoutes } from "./quotes.js";
import { registerWarehouseRoutes } from "./warehouses.js";
import { registerZoneRoutes } from "./zones.js";

/** State of the catalogue import. Readiness stays 503 until it is `ready`. */
export interface CatalogStatus {
  state: "unknown" | "importing" | "ready" | "failed";
  report?: ImportReport;
  error?: string;
}

export interface AppOptions {
  bridge: Bridge;
  /** Read on each readiness probe; the catalogue counts as ready when absent. */
  catalog?: () => CatalogStatus;
  quotes?: QuoteServiceOptions;
  /** Largest accepted request body. Default 64 KiB, plenty for quote requests. */
  bodyLimitBytes?: number;
}

/** Builds the Fastify app on the bridge's roles. The caller starts the bridge and calls `listen` or `inject`. */
export function buildApp(options: AppOptions): FastifyInstance {
  const { bridge } = options;
  const log = bridge.logs.child({ source: "http" });
  const bodyLimitBytes = options.bodyLimitBytes ?? 64 * 1024;
  const app = Fastify({ logger: false, bodyLimit: bodyLimitBytes });
  registerBodyParsers(app);

  app.setErrorHandler((error, request, reply) => {
    const tenantHeader = request.headers["x-tenant-id"];
    const { status, body } = toHttpError(error, log, {
      method: request.method,
      url: request.url,
      bodyLimitBytes,
      ...(typeof tenantHeader === "string" ? { tenantId: tenantHeader } : {}),
    });
    void reply.code(status).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({
      error: { code: "NOT_FOUND", message: `No route for ${request.method} ${request.url.split("?")[0]}; the README lists the endpoints` },
    });
  });

  app.get("/healthz", async (_request, reply) => {
    const probe = bridge.liveness();
    return reply.code(probe.status).send(probe.body);
  });

  app.get("/readyz", async (_request, reply) => {
    const probe = await bridge.readiness();
    const catalog = options.catalog?.() ?? { state: "ready" as const };
    const ok = probe.ok && catalog.state === "ready";
    return reply.code(ok ? 200 : 503).send({ ...probe.body, ready: ok, catalog: { state: catalog.state, ...(catalog.error === undefined ? {} : { error: catalog.error }) } });
  });

  registerProductRoutes(app, bridge);
  registerWarehouseRoutes(app, bridge);
  registerZoneRoutes(app, bridge);
  registerQuoteRoutes(app, new QuoteService(bridge, options.quotes));
  return app;
}
