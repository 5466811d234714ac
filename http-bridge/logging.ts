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

type LogMethod = "fatal" | "error" | "warn" | "info" | "debug" | "trace";

type LevelAwareLogger = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

/**
 * A request's logger that becomes a real child logger (with the request id bound) only when
 * something is logged at an enabled level. Fastify makes one child per request; pino's
 * `child()` copies bindings and serializers, a measurable share of a fast request's time,
 * and at the default levels nearly every request logs nothing.
 */
class LazyRequestLogger {
  readonly #parent: LevelAwareLogger;
  readonly #bindings: Record<string, unknown>;
  readonly #options: Record<string, unknown>;
  #child: FastifyBaseLogger | undefined;

  constructor(parent: LevelAwareLogger, bindings: Record<string, unknown>, options: Record<string, unknown>) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  get #real(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options);
    return this.#child;
  }

  #log(method: LogMethod, args: unknown[]): void {
    // A per-request level (route `logLevel`) must be honoured, so only skip on the parent's
    // level when none was given.
    if (this.#child === undefined && this.#options.level === undefined && !this.#parent.isLevelEnabled(method)) return;
    (this.#real[method] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.#child?.level ?? (this.#options.level as string | undefined) ?? this.#parent.level;
  }
  set level(value: string) {
    this.#real.level = value;
  }
  isLevelEnabled(level: string): boolean {
    return ((this.#child as LevelAwareLogger | undefined) ?? this.#parent).isLevelEnabled(level);
  }
  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): FastifyBaseLogger {
    return this.#real.child(bindings, options);
  }
  fatal(...args: unknown[]): void {
    this.#log("fatal", args);
  }
  error(...args: unknown[]): void {
    this.#log("error", args);
  }
  warn(...args: unknown[]): void {
    this.#log("warn", args);
  }
  info(...args: unknown[]): void {
    this.#log("info", args);
  }
  debug(...args: unknown[]): void {
    this.#log("debug", args);
  }
  trace(...args: unknown[]): void {
    this.#log("trace", args);
  }
  silent(): void {}
}

/** Fastify's `childLoggerFactory`: a {@link LazyRequestLogger} per request. */
export const lazyChildLogger: NonNullable<FastifyServerOptions["childLoggerFactory"]> = (logger, bindings, options) => {
  // Loggers without pino's isLevelEnabled get an ordinary child.
  if (typeof (logger as Partial<LevelAwareLogger>).isLevelEnabled !== "function") return logger.child(bindings, options);
  return new LazyRequestLogger(logger as LevelAwareLogger, bindings, options as Record<string, unknown>) as unknown as FastifyBaseLogger;
};
