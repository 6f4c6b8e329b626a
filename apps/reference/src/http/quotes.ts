import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { MAX_LINE_QUANTITY, type QuoteService } from "../orders/quotes.js";
import { inTenant } from "./tenant.js";
import { parseRequest, quoteIdSchema, skuSchema } from "./validation.js";

const createQuoteSchema = z.object({
  customerId: z
    .string({ required_error: "is required", invalid_type_error: "expected a string" })
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, "expected a customer id of 1 to 128 letters, digits, dots, dashes, colons, @ or underscores"),
  email: z.string({ invalid_type_error: "expected a string" }).trim().email("expected an email address such as buyer@example.com").max(254).optional(),
});

const addLineSchema = z.object({
  sku: skuSchema,
  quantity: z
    .number({ required_error: "is required", invalid_type_error: "expected a number" })
    .int("expected a whole number")
    .min(1, `expected a whole number from 1 to ${MAX_LINE_QUANTITY}`)
    .max(MAX_LINE_QUANTITY, `expected a whole number from 1 to ${MAX_LINE_QUANTITY}`),
});

const idParamsSchema = z.object({ id: quoteIdSchema });

/** Registers the quote endpoints. Each response body is the engagement as stored. */
export function registerQuoteRoutes(app: FastifyInstance, quotes: QuoteService): void {
  app.post("/api/quotes", { config: { bodyExample: '{"customerId": "acme-retail", "email": "buyer@example.com"}' } }, (request, reply) =>
    inTenant(request, async () => {
      const body = parseRequest(createQuoteSchema, request.body, "body");
      const quote = await quotes.create(body);
      return reply.code(201).send(quote);
    }),
  );

  app.get("/api/quotes/:id", (request) =>
    inTenant(request, async () => {
      const { id } = parseRequest(idParamsSchema, request.params, "params");
      return quotes.get(id);
    }),
  );

  app.post("/api/quotes/:id/lines", { config: { bodyExample: '{"sku": "4984700", "quantity": 2}' } }, (request, reply) =>
    inTenant(request, async () => {
      const { id } = parseRequest(idParamsSchema, request.params, "params");
      const body = parseRequest(addLineSchema, request.body, "body");
      const quote = await quotes.addLine(id, body);
      return reply.code(201).send(quote);
    }),
  );

  app.post("/api/quotes/:id/price", (request) =>
    inTenant(request, async () => {
      const { id } = parseRequest(idParamsSchema, request.params, "params");
      return quotes.price(id);
    }),
  );

  app.post("/api/quotes/:id/submit", (request) =>
    inTenant(request, async () => {
      const { id } = parseRequest(idParamsSchema, request.params, "params");
      return quotes.submit(id);
    }),
  );

  app.post("/api/quotes/:id/confirm", (request) =>
    inTenant(request, async () => {
      const { id } = parseRequest(idParamsSchema, request.params, "params");
      return quotes.confirm(id);
    }),
  );
}
