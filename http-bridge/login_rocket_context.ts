/**
 * What the bridge tells core about a LoginRocket caller: the request id and the connection
 * (client IP and User-Agent), never management credentials. A browser cannot vouch for
 * anything, so core ignores any `request` param it sends and records what the connection shows.
 */
import type { FastifyRequest } from "fastify";
import type { LoginRocketContext, RequestInfo } from "@rampart/core";
import { clientIp, type TrustedProxies } from "./client_ip.ts";

/** The longest `client` core records (the `request.client` limit). */
const MAX_CLIENT = 255;

/** The client's IP (X-Forwarded-For read only from trusted proxies) and its User-Agent. */
export function connectionOf(request: FastifyRequest, trusted: TrustedProxies): RequestInfo {
  const ip = clientIp(request.socket.remoteAddress, request.headers["x-forwarded-for"], trusted);
  const agent = request.headers["user-agent"];
  // Node's parser already refuses control characters in header values; NUL never gets here.
  const client = typeof agent === "string" && agent.trim() !== "" ? agent.trim().slice(0, MAX_CLIENT) : null;
  return { ip, client };
}

/** The context of one LoginRocket call: no credentials, so core never trusts caller-supplied request info. */
export function loginRocketContext(request: FastifyRequest, trusted: TrustedProxies): LoginRocketContext {
  return { requestId: request.id, credentials: {}, connection: connectionOf(request, trusted) };
}

/**
 * True when the browser reached us over HTTPS: a TLS socket, or a trusted proxy saying
 * `X-Forwarded-Proto: https` (its first value: the hop nearest the browser).
 */
export function isSecureRequest(request: FastifyRequest, trusted: TrustedProxies): boolean {
  if ((request.socket as { encrypted?: boolean }).encrypted === true) return true;
  const peer = request.socket.remoteAddress;
  if (peer === undefined || trusted.size === 0 || !trusted.contains(peer)) return false;
  const proto = request.headers["x-forwarded-proto"];
  const first = (Array.isArray(proto) ? proto[0] : proto)?.split(",")[0]?.trim().toLowerCase();
  return first === "https";
}
