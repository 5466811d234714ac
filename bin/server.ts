/**
 * `npm start`: one process serving the JSON v1 API (HTTP) and gRPC over one core and one
 * SQLite file. First start creates the account and the admin key; SIGTERM/SIGINT drain.
 * Under load, HTTP helper processes share the HTTP listener (bin/http_helpers.ts); this file
 * is also their entry point (RAMPART_ROLE=http-helper).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Server } from "node:net";
import { openRampart, type MetricsSink, type OpenRampart } from "@rampart/core";
import { nodeDeps } from "@rampart/core/adapters/node";
import { createGrpcServer } from "@rampart/grpc-server";
import {
  answerForwarded,
  buildHttpApp,
  shedConnections,
  startDraining,
  type ForwardedRequest,
  type ForwardedResponse,
  type HttpMetrics,
} from "@rampart/http-bridge";
import type { FastifyInstance } from "fastify";
import { pino, type Logger } from "pino";
import { ConfigError, loadConfig, type Config } from "./config.ts";
import { helperLink, HelperPool, type HelperMessage } from "./http_helpers.ts";
import { lowerThreadPoolPriority } from "./thread_pool_priority.ts";
import { createServerMetrics } from "./metrics.ts";

/** The package version, shown in the OpenAPI document. */
const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Prints one clear line and exits non-zero. */
function fail(message: string): never {
  process.stderr.write(`rampart: ${message}\n`);
  process.exit(1);
}

function open(config: Config, logger: Logger, metrics: MetricsSink): OpenRampart & { hashQueue: { readonly queued: number } | undefined } {
  try {
    const deps = nodeDeps({
      path: config.dbPath,
      logger,
      metrics,
      throttle: config.throttle,
      synchronous: config.synchronous,
      ...(config.loginRocketDomain ? { loginRocketDomain: config.loginRocketDomain } : {}),
    });
    return Object.assign(openRampart(deps), { hashQueue: (deps.hasher as { queue?: { readonly queued: number } }).queue });
  } catch (err) {
    fail(`RAMPART_DB: cannot open "${config.dbPath}": ${(err as Error).message}`);
  }
}

/**
 * Shutdown, phase 1: keep serving for `ms`, but every answer tells the client to close its
 * connection, so requests already sent (in socket buffers, not yet parsed) are still read
 * and answered. Closing at once would count those connections as idle and reset them.
 */
async function drain(http: FastifyInstance, ms: number): Promise<void> {
  startDraining(http);
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Shutdown, phase 2: stop listening and finish in-flight requests; keep-alive connections
 * are closed as they go idle (else they would hold the server open until their timeout).
 */
async function stopListening(http: FastifyInstance): Promise<void> {
  setInterval(() => http.server.closeIdleConnections(), 100).unref();
  await http.close();
}

/** The HTTP app as every serving process builds it (helpers pass `forwardWrites`). */
function httpApp(
  rampart: OpenRampart,
  config: Config,
  logger: Logger,
  metrics: HttpMetrics,
  shared: { csrfKey: Uint8Array; forwardToken: string },
  forward?: (request: ForwardedRequest) => Promise<ForwardedResponse>,
) {
  return buildHttpApp(rampart, {
    logger,
    metrics,
    ...shared,
    ...(forward ? { forwardWrites: forward } : {}),
    version: VERSION,
    bodyLimit: config.bodyLimit,
    trustedProxies: config.trustedProxies,
    ...(config.loginRocketDomain ? { loginRocketDomain: config.loginRocketDomain } : {}),
  });
}

/**
 * An HTTP helper (bin/http_helpers.ts): the HTTP app over its own connection to the same
 * database, answering on the primary's listener until told to drain or until the primary
 * is gone.
 */
async function runHttpHelper(config: Config): Promise<void> {
  const logger = pino({ level: config.logLevel, base: { service: "rampart", role: "http-helper" } });
  const send = (message: HelperMessage): void => {
    if (process.connected) process.send!(message);
  };
  const link = helperLink(send);
  const rampart = open(config, logger, link.core);
  let http: ReturnType<typeof httpApp> | undefined;
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (http) {
      await drain(http, config.shutdownDrainMs);
      await stopListening(http);
    }
    link.flush();
    await rampart.close();
    process.exit(0);
  };
  process.on("message", (message: HelperMessage, handle: unknown) => {
    link.onMessage(message);
    if (message.t === "drain") void stop();
    if (message.t !== "serve" || http || stopping) return;
    const shared = { csrfKey: Buffer.from(message.csrfKey, "base64"), forwardToken: message.forwardToken };
    http = httpApp(rampart, config, logger, link.metrics, shared, (request) => link.forward(request));
    void http.ready().then(() => {
      http!.server.listen(handle as Server, () => send({ t: "serving" }));
    });
  });
  // The primary is gone (stopped or crashed): what waits for it fails now, the rest finishes.
  process.on("disconnect", () => {
    link.primaryGone();
    void stop();
  });
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => undefined); // a terminal's Ctrl-C reaches the primary, which drains us
  send({ t: "hello" });
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  if (process.env.RAMPART_ROLE === "http-helper") return runHttpHelper(config);
  const logger = pino({ level: config.logLevel, base: { service: "rampart" } });
  const metrics = createServerMetrics();
  const rampart = open(config, logger, metrics.core);
  metrics.bind(rampart, rampart.hashQueue);
  // Hashes yield the CPU to the event loop (bin/thread_pool_priority.ts).
  const pool = await lowerThreadPoolPriority(config.hashNice);
  if ("skipped" in pool) logger.info({ reason: pool.skipped }, "hash threads keep the server's priority");
  else if (pool.threads.length < pool.poolSize) logger.warn({ found: pool.threads.length, pool_size: pool.poolSize }, "only some hash threads reniced");
  else logger.debug({ threads: pool.threads.length, nice: pool.nice }, "hash threads reniced");
  // Requests answered by this process (its own and those helpers forwarded), for the helper
  // pool's write share.
  let requests = 0;
  const httpMetrics: HttpMetrics = {
    observe(...args) {
      requests++;
      metrics.http.observe(...args);
    },
    render: () => metrics.http.render(),
  };

  const boot = await rampart.bootstrap(config.adminKey);
  if (boot && config.adminKey === undefined) {
    // Printed once, on the first start only; never logged.
    process.stdout.write(
      [
        "",
        "Rampart created its admin API key. It is shown only this once; store it now:",
        "",
        `  X-Authrocket-Api-Key: ${boot.key}`,
        `  (legacy pair: X-Authrocket-Account: ${rampart.accountId}  X-Authrocket-Api-Key: ${boot.legacy_key})`,
        "",
        "",
      ].join("\n"),
    );
  } else if (boot) {
    logger.info({ key_id: boot.id }, "installed RAMPART_ADMIN_KEY as the admin key");
  }
  logger.info({ account_id: rampart.accountId, db: config.dbPath }, "rampart database open");

  // Shared with HTTP helpers: forms and forwarded requests cross between processes.
  const shared = { csrfKey: randomBytes(32), forwardToken: randomBytes(24).toString("base64url") };
  const http = httpApp(rampart, config, logger, httpMetrics, shared);
  const grpc = createGrpcServer(rampart, { logger, maxMessageBytes: config.bodyLimit, onCallEnd: metrics.grpc });
  try {
    await http.listen({ host: config.host, port: config.httpPort });
  } catch (err) {
    fail(`RAMPART_HTTP_PORT: cannot listen on ${config.host}:${config.httpPort}: ${(err as Error).message}`);
  }
  let grpcPort: number;
  try {
    grpcPort = await grpc.listen(config.host, config.grpcPort);
  } catch (err) {
    fail(`RAMPART_GRPC_PORT: cannot listen on ${config.host}:${config.grpcPort}: ${(err as Error).message}`);
  }
  const address = http.server.address();
  const httpPort = typeof address === "object" && address ? address.port : config.httpPort;
  // Webhook deliveries (including any left pending by a previous run) start flowing now.
  rampart.webhooks.start();
  const helpers = new HelperPool({
    server: http.server,
    max: config.httpProcesses - 1,
    scaling: config.httpScaling,
    ...shared,
    logger,
    metrics: metrics.http,
    helperRequests: metrics.addHelperRequests,
    helperLogins: metrics.addHelperLogins,
    answer: (request) => answerForwarded(http, request),
    counts: () => ({ requests, writes: rampart.writeCount() }),
    // Clients already connected spread too: a share of them is asked to reconnect.
    rebalance: (share) => {
      http.server.getConnections((err, open) => {
        if (!err) shedConnections(http, Math.ceil(open * share));
      });
    },
  });
  helpers.start();
  logger.info({ http: `http://${config.host}:${httpPort}`, grpc: `${config.host}:${grpcPort}`, account_id: rampart.accountId }, "rampart listening");

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: finishing in-flight calls");
    // Helpers may use a grace period of their own before this process's begins.
    const timer = setTimeout(() => fail("shutdown took longer than RAMPART_SHUTDOWN_GRACE_MS"), 2 * config.shutdownGraceMs + config.shutdownDrainMs + 4000);
    timer.unref();
    // Phase 1 (drain). HTTP helpers drain the same way, meanwhile; this process keeps
    // answering the writes they forward until they are gone.
    await Promise.all([drain(http, config.shutdownDrainMs), helpers.stop(config.shutdownGraceMs)]);
    // Phase 2: stop listening. Webhook attempts get the same grace; unfinished ones stay
    // pending for the next start.
    await Promise.all([stopListening(http), grpc.shutdown(config.shutdownGraceMs), rampart.webhooks.stop(config.shutdownGraceMs)]);
    await rampart.close();
    logger.info("stopped");
    logger.flush?.();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((err: unknown) => fail((err as Error).message ?? String(err)));
