/**
 * Server settings from the environment. A bad value stops start-up with one line naming the
 * setting (ConfigError), never a stack trace.
 */
import { availableParallelism } from "node:os";
import { parseKey } from "@rampart/core";
import { isValidLoginRocketDomain, parseTrustedProxies, splitProxyList, TrustedProxyError } from "@rampart/http-bridge";

/** A setting that cannot be used; its message names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The server's settings (see the configuration table in README.md). */
export interface Config {
  host: string;
  httpPort: number;
  grpcPort: number;
  dbPath: string;
  adminKey: string | undefined;
  logLevel: string;
  synchronous: "FULL" | "NORMAL";
  bodyLimit: number;
  throttle: { perUser: number; perIp: number; windowSeconds: number };
  shutdownGraceMs: number;
  /** How long shutdown keeps serving (with `Connection: close`) before the listener closes. */
  shutdownDrainMs: number;
  /** Proxies whose X-Forwarded-For LoginRocket believes (IPs and CIDR ranges). */
  trustedProxies: string[];
  /** Serve LoginRocket apps also at `<subdomain>.<domain>`. */
  loginRocketDomain: string | undefined;
  /** Most processes answering HTTP at once: this one plus helpers started under load. */
  httpProcesses: number;
  /** `auto`: helpers start when this process is saturated and stop when idle; `always`: all run from the start. */
  httpScaling: "auto" | "always";
  /** Nice value (0–19) of the thread pool where password hashes run; 0 leaves it as the server's. */
  hashNice: number;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name}: "${raw}" is not a whole number between ${min} and ${max}`);
  }
  return Number(raw);
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(`${name}: "${raw}" must be one of ${values.join(", ")}`);
  return raw as T;
}

function trustedProxies(env: Env): string[] {
  const entries = splitProxyList(env.RAMPART_TRUSTED_PROXIES ?? "");
  try {
    parseTrustedProxies(entries);
  } catch (err) {
    if (err instanceof TrustedProxyError) throw new ConfigError(`RAMPART_TRUSTED_PROXIES: ${err.message}`);
    throw err;
  }
  return entries;
}

function loginRocketDomain(env: Env): string | undefined {
  const raw = env.RAMPART_LOGINROCKET_DOMAIN;
  if (raw === undefined || raw.trim() === "") return undefined;
  // Host names are case-insensitive; the routing compares lower case.
  const domain = raw.trim().toLowerCase();
  if (!isValidLoginRocketDomain(domain)) {
    throw new ConfigError(`RAMPART_LOGINROCKET_DOMAIN: "${raw}" is not a host name (such as login.example.com, without scheme, port or path)`);
  }
  return domain;
}

/** Reads and validates every setting. */
export function loadConfig(env: Env): Config {
  const adminKey = env.RAMPART_ADMIN_KEY === "" ? undefined : env.RAMPART_ADMIN_KEY;
  if (adminKey !== undefined && !parseKey(adminKey)) {
    throw new ConfigError("RAMPART_ADMIN_KEY: must be a ko_ key: ko_ + 22 base62 characters + '-' + 32 to 64 base62 characters");
  }
  const host = env.RAMPART_HOST || "127.0.0.1";
  if (!/^[0-9A-Za-z.:[\]-]{1,253}$/.test(host)) throw new ConfigError(`RAMPART_HOST: "${host}" is not a host name or IP address`);
  return {
    host,
    httpPort: int(env, "RAMPART_HTTP_PORT", 8080, 0, 65535),
    grpcPort: int(env, "RAMPART_GRPC_PORT", 50051, 0, 65535),
    dbPath: env.RAMPART_DB || "./data/rampart.db",
    adminKey,
    logLevel: oneOf(env, "RAMPART_LOG_LEVEL", ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const, "info"),
    synchronous: oneOf(env, "RAMPART_SYNCHRONOUS", ["FULL", "NORMAL"] as const, "FULL"),
    bodyLimit: int(env, "RAMPART_BODY_LIMIT", 1024 * 1024, 1024, 64 * 1024 * 1024),
    throttle: {
      perUser: int(env, "RAMPART_THROTTLE_PER_USER", 10, 1, 1_000_000),
      perIp: int(env, "RAMPART_THROTTLE_PER_IP", 100, 1, 1_000_000),
      windowSeconds: int(env, "RAMPART_THROTTLE_WINDOW", 900, 1, 86_400),
    },
    shutdownGraceMs: int(env, "RAMPART_SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    shutdownDrainMs: int(env, "RAMPART_SHUTDOWN_DRAIN_MS", 500, 0, 60_000),
    trustedProxies: trustedProxies(env),
    loginRocketDomain: loginRocketDomain(env),
    httpProcesses: int(env, "RAMPART_HTTP_PROCESSES", Math.min(availableParallelism(), 16), 1, 64),
    httpScaling: oneOf(env, "RAMPART_HTTP_SCALING", ["auto", "always"] as const, "auto"),
    hashNice: int(env, "RAMPART_HASH_NICE", 19, 0, 19),
  };
}
