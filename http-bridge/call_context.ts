/**
 * Builds core's CallContext from request headers. Only reads them: whether a key is valid,
 * or a realm exists, is core's decision.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { CallContext, Credentials } from "@rampart/core";

/** One header as a string; repeated headers arrive joined or as arrays, empty means absent. */
function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers[name];
  const value = Array.isArray(raw) ? raw.join(", ") : raw;
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/** The token of `Authorization: Bearer <token>`; other schemes are not management credentials. */
function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = header(headers, "authorization");
  const match = auth === undefined ? null : /^Bearer[ \t]+(.+)$/i.exec(auth);
  return match ? match[1]!.trim() : undefined;
}

/** `X-Authrocket-Api-Key`, `X-Authrocket-Account` and `Authorization: Bearer` as received. */
export function credentialsFrom(headers: IncomingHttpHeaders): Credentials {
  const credentials: Credentials = {};
  const apiKey = header(headers, "x-authrocket-api-key");
  const account = header(headers, "x-authrocket-account");
  const bearer = bearerToken(headers);
  if (apiKey !== undefined) credentials.apiKey = apiKey;
  if (account !== undefined) credentials.account = account;
  if (bearer !== undefined) credentials.bearer = bearer;
  return credentials;
}

/** The call context for one request: its id, its credentials, the `X-Authrocket-Realm` header and its I/O turn. */
export function callContextFrom(requestId: string, headers: IncomingHttpHeaders, ioTurn?: number): CallContext {
  const ctx: CallContext = { requestId, credentials: credentialsFrom(headers) };
  const realmId = header(headers, "x-authrocket-realm");
  if (realmId !== undefined) ctx.realmId = realmId;
  if (ioTurn !== undefined) ctx.ioTurn = ioTurn;
  return ctx;
}
