/**
 * Builds core's CallContext from call metadata. Only reads it: whether a key is valid, or a
 * realm exists, is core's decision. Mirrors the HTTP bridge's header rules.
 */
import type { Metadata } from "@grpc/grpc-js";
import { type CallContext, type Credentials, isIpLiteral, type LoginRocketContext, type RequestInfo } from "@rampart/core";

/** The longest `client` core records (the v1 rule for a `request` hash's client). */
const MAX_CLIENT = 255;

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

/**
 * The call context for one call: its id, its credentials, the `x-authrocket-realm` entry, its
 * I/O turn and the connection (`peer` gives the call's `getPeer()`). Management operations ignore the
 * connection; LoginRocket records it as the end user's request. It is read when first asked
 * for: a management call (most of them) never parses the peer or the user agent.
 */
export function callContextFrom(requestId: string, metadata: Metadata, peer: () => string, ioTurn?: number): LoginRocketContext {
  const ctx: CallContext = { requestId, credentials: credentialsFrom(metadata) };
  const realmId = entry(metadata, "x-authrocket-realm");
  if (realmId !== undefined) ctx.realmId = realmId;
  if (ioTurn !== undefined) ctx.ioTurn = ioTurn;
  let connection: RequestInfo | undefined;
  return Object.defineProperty(ctx, "connection", { enumerable: true, get: () => (connection ??= connectionFrom(metadata, peer())) }) as LoginRocketContext;
}

/**
 * The end user as the connection shows them: the peer's IP and the `user-agent` metadata
 * (cut to 255 characters, the longest client core records; grpc-js clients send
 * `<grpc.primary_user_agent> grpc-node-js/<version>`). No forwarding headers are honoured:
 * a relaying service sends `request` with a write key instead.
 */
export function connectionFrom(metadata: Metadata, peer: string): RequestInfo {
  const client = entry(metadata, "user-agent");
  return { ip: peerIp(peer), client: client === undefined ? null : client.slice(0, MAX_CLIENT) };
}

/**
 * The IP literal of a grpc-js peer string, or null when it holds none (`unknown`, a Unix
 * socket). grpc-js writes `<address>:<port>` without brackets ("127.0.0.1:50000",
 * "::1:50000"); bracketed and port-less forms are read too. A zone id (`%eth0`) is dropped,
 * an IPv4-mapped IPv6 address (a dual-stack listener's view of an IPv4 client) becomes the
 * IPv4 address, and IPv6 is lower-cased, as the HTTP bridge records addresses.
 */
export function peerIp(peer: string): string | null {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(peer);
  let host = peer;
  if (bracketed) host = bracketed[1]!;
  else {
    const withPort = /^(.+):\d{1,5}$/.exec(peer);
    if (withPort && isIpLiteral(withoutZone(withPort[1]!))) host = withPort[1]!;
  }
  host = withoutZone(host);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(host);
  if (mapped) host = mapped[1]!;
  return isIpLiteral(host) ? host.toLowerCase() : null;
}

function withoutZone(host: string): string {
  const zone = host.indexOf("%");
  return zone === -1 ? host : host.slice(0, zone);
}
