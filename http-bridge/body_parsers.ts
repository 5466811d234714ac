/**
 * Request body parsing: JSON and form bodies only. Fastify's defaults are removed so that
 * every body goes through the checks below, and a catch-all answers other types with 415.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { CoreError, type Params } from "@rampart/core";
import { parseFormEncoded } from "./form_params.ts";
import { decodeUtf8, parseJsonBody } from "./json_body.ts";

/** Parses an `application/x-www-form-urlencoded` body; empty means no body. */
export function parseFormBody(bytes: Uint8Array): Params | undefined {
  if (bytes.length === 0) return undefined;
  return parseFormEncoded(decodeUtf8(bytes, "body"), "body");
}

/**
 * A Fastify parser over the raw bytes that answers through `done`: an `async` parser costs a
 * promise and a microtask on every body.
 */
function bytesParser(parse: (bytes: Buffer) => unknown) {
  return (_request: FastifyRequest, body: Buffer, done: (error: Error | null, body?: unknown) => void): void => {
    let parsed: unknown;
    try {
      parsed = parse(body);
    } catch (error) {
      done(error as Error);
      return;
    }
    done(null, parsed);
  };
}

/**
 * Installs the body parsers. Every parser reads raw bytes (Fastify enforces the body limit
 * while reading, answering 413) and resolves `undefined` for an empty body, so a bodiless
 * DELETE with `Content-Type: application/json` is simply a request without a body.
 * Fastify never runs parsers for GET/HEAD, whatever their headers.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  // Any charset parameter is accepted: JSON is UTF-8 (RFC 8259), and so is what we decode.
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, bytesParser(parseJsonBody));
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "buffer" }, bytesParser(parseFormBody));
  // Also reached when a body arrives without any Content-Type.
  app.addContentTypeParser(
    "*",
    { parseAs: "buffer" },
    bytesParser((body) => {
      if (body.length === 0) return undefined;
      throw new CoreError("request.unsupported_media_type");
    }),
  );
}
