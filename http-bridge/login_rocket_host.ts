/**
 * Host-based LoginRocket routing. With a LoginRocket domain configured
 * (`RAMPART_LOGINROCKET_DOMAIN=login.example.com`), a request for `<sub>.login.example.com`
 * is served as if it had asked for `/lr/<sub>` + its path: `/v1/login` becomes
 * `/lr/<sub>/v1/login`, `/` the hosted login page. The rewrite happens before routing, so both
 * addressings share every route, hook and test. Only the `Host` header is read (a proxy must
 * pass it through); such a host serves LoginRocket and nothing else.
 */
import type { IncomingMessage } from "node:http";

/** One DNS label, as login policy subdomains are written (core's rule). */
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";

/** A host name of one or more labels, at most 253 characters, lower case, no port. */
const DOMAIN = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);

/** True when `domain` can serve as the LoginRocket domain (a lower-case host name without port). */
export function isValidLoginRocketDomain(domain: string): boolean {
  return DOMAIN.test(domain);
}

/** Requests that arrived by host (their public paths have no `/lr/<sub>` prefix). */
const hostRouted = new WeakSet<IncomingMessage>();

/** The host name of a `Host` header, lower case, without port; `undefined` for IPv6 literals and junk. */
function hostName(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^([^:[\]]+)(?::\d{1,5})?$/.exec(header.trim());
  return match ? match[1]!.toLowerCase() : undefined;
}

/**
 * Fastify's `rewriteUrl` for a LoginRocket domain: `<sub>.<domain>` + path → `/lr/<sub>` + path;
 * any other host keeps its URL.
 */
export function loginRocketRewriter(domain: string): (req: IncomingMessage) => string {
  if (!isValidLoginRocketDomain(domain)) throw new Error(`not a host name: ${JSON.stringify(domain)}`);
  const pattern = new RegExp(`^(${LABEL})\\.${domain.replace(/\./g, "\\.")}$`);
  return (req) => {
    const url = req.url ?? "/";
    const match = pattern.exec(hostName(req.headers.host) ?? "");
    if (!match || !url.startsWith("/")) return url;
    hostRouted.add(req);
    return `/lr/${match[1]}${url}`;
  };
}

/**
 * The public path prefix of an app's pages for this request: `""` when it came by host,
 * `/lr/<subdomain>` otherwise. Links and form actions are built on it.
 */
export function publicBase(req: IncomingMessage, subdomain: string): string {
  return hostRouted.has(req) ? "" : `/lr/${subdomain}`;
}
