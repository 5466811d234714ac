/**
 * Request logging without secrets. Query strings can carry passwords, tokens and keys
 * (LoginRocket GETs, `?api_key=`), so a request is logged by its path only; a JWT used as a
 * path segment (`/v1/sessions/<token>`) is masked; credential headers are redacted should
 * anything log headers.
 */
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from "fastify";

/** pino redact paths for the credential headers. */
export const REDACTED_PATHS: readonly string[] = [
  "req.headers.authorization",
  'req.headers["x-authrocket-api-key"]',
  "headers.authorization",
  'headers["x-authrocket-api-key"]',
];

// Three base64url parts starting like a JSON header: a JWT (compact JWS).
const JWT_SEGMENT = /^eyJ[\w-]*\.[\w-]*\.[\w-]*$/;

/** A request URL as it may be logged: no query string, no JWT segment. */
export function urlForLog(url: string | undefined): string {
  if (url === undefined) return "";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  return path
    .split("/")
    .map((segment) => (JWT_SEGMENT.test(segment) ? "[token]" : segment))
    .join("/");
}

interface LoggableRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** The `req` serializer: Fastify's fields, with the URL passed through {@link urlForLog}. */
export function serializeRequest(req: LoggableRequest): Record<string, unknown> {
  return {
    method: req.method,
    url: urlForLog(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

function isLoggerInstance(value: object): value is FastifyBaseLogger {
  const v = value as Record<string, unknown>;
  return typeof v.child === "function" && typeof v.info === "function" && typeof v.error === "function";
}

/** How the app's caller may configure logging: off, on, pino options, or a pino logger. */
export type LoggerOption = boolean | object | undefined;

/**
 * Fastify logger settings with the safe `req` serializer and redaction forced in, whatever the
 * caller passed (a caller's own `req` serializer would bring query strings back).
 */
export function loggerSettings(option: LoggerOption): Pick<FastifyServerOptions, "logger" | "loggerInstance"> {
  if (option === undefined || option === false) return { logger: false };
  if (option === true) {
    return { logger: { serializers: { req: serializeRequest as never }, redact: [...REDACTED_PATHS] } };
  }
  if (isLoggerInstance(option)) {
    const child = option.child({}, { serializers: { req: serializeRequest }, redact: [...REDACTED_PATHS] } as never);
    return { loggerInstance: child };
  }
  const given = option as { serializers?: Record<string, unknown>; redact?: unknown };
  const givenRedact = Array.isArray(given.redact) ? (given.redact as string[]) : ((given.redact as { paths?: string[] } | undefined)?.paths ?? []);
  return {
    logger: {
      ...given,
      serializers: { ...given.serializers, req: serializeRequest as never },
      redact: [...REDACTED_PATHS, ...givenRedact],
    } as FastifyServerOptions["logger"],
  };
}

/** Fastify's log controller with the request id under `request_id` and URLs logged safely. */
export class RequestLogController extends LogController {
  constructor() {
    super({ requestIdLogLabel: "request_id" });
  }

  /** Fastify's version logs the raw URL, query string included. */
  override routeNotFound(request: FastifyRequest, _reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    request.log.info(`Route ${request.method}:${urlForLog(request.url)} not found`);
  }
}
