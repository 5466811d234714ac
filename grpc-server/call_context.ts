/**
 * Builds core's CallContext from call metadata. Only reads it: whether a key is valid, or a
 * realm exists, is core's decision. Mirrors the HTTP bridge's header rules.
 */
import type { Metadata } from "@grpc/grpc-js";
import type { CallContext, Credentials } from "@rampart/core";

/**
 * One metadata entry as a string; empty means absent. Repeated entries are joined the way
 * HTTP joins repeated headers, so two keys make one invalid key rather than a silent choice.
 */
function entry(metadata: Metadata, key: string): string | undefined {
  const values = metadata.get(key).filter((v): v is string => typeof v === "string");
  const value = values.join(", ").trim();
  return value === "" ? undefined : value;
}

/** The token of `authorization: Bearer <token>`; other schemes are not management credentials. */
function bearerToken(metadata: Metadata): string | undefined {
  const auth = entry(metadata, "authorization");
  const match = auth === undefined ? null : /^Bearer[ \t]+(.+)$/i.exec(auth);
  return match ? match[1]!.trim() : undefined;
}

/** `x-authrocket-api-key`, `x-authrocket-account` and `authorization: Bearer` as received. */
export function credentialsFrom(metadata: Metadata): Credentials {
  const credentials: Credentials = {};
  const apiKey = entry(metadata, "x-authrocket-api-key");
  const account = entry(metadata, "x-authrocket-account");
  const bearer = bearerToken(metadata);
  if (apiKey !== undefined) credentials.apiKey = apiKey;
  if (account !== undefined) credentials.account = account;
  if (bearer !== undefined) credentials.bearer = bearer;
  return credentials;
}

/** The call context for one call: its id, its credentials and the `x-authrocket-realm` entry. */
export function callContextFrom(requestId: string, metadata: Metadata): CallContext {
  const ctx: CallContext = { requestId, credentials: credentialsFrom(metadata) };
  const realmId = entry(metadata, "x-authrocket-realm");
  if (realmId !== undefined) ctx.realmId = realmId;
  return ctx;
}
