import type { FastifyInstance, FastifyRequest } from "fastify";
import { HttpRequestError } from "./errors.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Example JSON body shown in body errors; routes that take no body leave it out. */
    bodyExample?: string;
  }
}

/**
 * Replaces Fastify's body parsers so every body problem comes back in the
 * app's error shape:
 * - `application/json`: an empty body is accepted (the routes that take no
 *   body get `undefined`, the others report their missing fields), and
 *   invalid JSON is a 400 `INVALID_JSON` that names the parser's position.
 * - any other content type, `text/plain` included: an empty body is
 *   accepted, and a non-empty one is a 415 `UNSUPPORTED_MEDIA_TYPE`.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  // Fastify's own parser keeps its protection against __proto__ and constructor.prototype keys.
  const secureJsonParse = app.getDefaultJsonParser("error", "error");

  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === "") {
      done(null, undefined);
      return;
    }
    secureJsonParse(request, text, (error, value) => {
      if (error === null) done(null, value);
      else done(invalidJson(request, text), undefined);
    });
  });

  app.removeContentTypeParser("text/plain");
  app.addContentTypeParser("*", { parseAs: "buffer" }, (request, body, done) => {
    if ((body as Buffer).length === 0) {
      done(null, undefined);
      return;
    }
    done(unsupportedMediaType(request), undefined);
  });
}

/** Describes what to send instead, for the route of `request`. */
function expectedBody(request: FastifyRequest): string {
  const example = request.routeOptions.config.bodyExample;
  if (example === undefined) return "This route takes no body: send none, or {} with content-type: application/json";
  return `Send a JSON object such as ${example} with content-type: application/json`;
}

/** Builds the 400 for a body that Fastify's parser rejected, with the position that `JSON.parse` reports. */
function invalidJson(request: FastifyRequest, text: string): HttpRequestError {
  let reason: string;
  let position: number | undefined;
  try {
    JSON.parse(text);
    // JSON.parse accepts what the secure parser rejected, so the body is valid JSON with a forbidden key.
    reason = "it contains a __proto__ or constructor.prototype key, which is rejected";
  } catch (error) {
    reason = (error as Error).message;
    const match = /at position (\d+)/.exec(reason);
    if (match?.[1] !== undefined) position = Number(match[1]);
  }

  return new HttpRequestError(`Request body is not valid JSON: ${reason}. ${expectedBody(request)}`, {
    status: 400,
    code: "INVALID_JSON",
    details: position === undefined ? {} : { position },
  });
}

function unsupportedMediaType(request: FastifyRequest): HttpRequestError {
  const received = request.headers["content-type"];
  const bodyDescription = received === undefined ? "A body without a content-type header" : `Content-Type ${JSON.stringify(received)}`;
  return new HttpRequestError(`${bodyDescription} is not supported because the API reads JSON bodies only. ${expectedBody(request)}`, {
    status: 415,
    code: "UNSUPPORTED_MEDIA_TYPE",
    details: { contentType: received ?? null },
  });
}
