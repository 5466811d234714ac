/**
 * `npm start`: one process serving the JSON v1 API (HTTP) and gRPC over one core and one
 * SQLite file. First start creates the account and the admin key; SIGTERM/SIGINT drain.
 */
import { readFileSync } from "node:fs";
import { openRampart, type OpenRampart } from "@rampart/core";
import { nodeDeps } from "@rampart/core/adapters/node";
import { createGrpcServer } from "@rampart/grpc-server";
import { buildHttpApp, startDraining } from "@rampart/http-bridge";
import { pino, type Logger } from "pino";
import { ConfigError, loadConfig, type Config } from "./config.ts";
import { createServerMetrics, type ServerMetrics } from "./metrics.ts";

/** The package version, shown in the OpenAPI document. */
const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Prints one clear line and exits non-zero. */
function fail(message: string): never {
  process.stderr.write(`rampart: ${message}\n`);
  process.exit(1);
}

function open(config: Config, logger: Logger, metrics: ServerMetrics): OpenRampart {
  try {
    const deps = nodeDeps({
      path: config.dbPath,
      logger,
      metrics: metrics.core,
      throttle: config.throttle,
      synchronous: config.synchronous,
      ...(config.loginRocketDomain ? { loginRocketDomain: config.loginRocketDomain } : {}),
    });
    const rampart = openRampart(deps);
    metrics.bind(rampart, (deps.hasher as { queue?: { readonly queued: number } }).queue);
    return rampart;
  } catch (err) {
    fail(`RAMPART_DB: cannot open "${config.dbPath}": ${(err as Error).message}`);
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const logger = pino({ level: config.logLevel, base: { service: "rampart" } });
  const metrics = createServerMetrics();
  const rampart = open(config, logger, metrics);

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

  const http = buildHttpApp(rampart, {
    logger,
    metrics: metrics.http,
    version: VERSION,
    bodyLimit: config.bodyLimit,
    trustedProxies: config.trustedProxies,
    ...(config.loginRocketDomain ? { loginRocketDomain: config.loginRocketDomain } : {}),
  });
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
  logger.info({ http: `http://${config.host}:${httpPort}`, grpc: `${config.host}:${grpcPort}`, account_id: rampart.accountId }, "rampart listening");

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: finishing in-flight calls");
    const timer = setTimeout(() => fail("shutdown took longer than RAMPART_SHUTDOWN_GRACE_MS"), config.shutdownGraceMs + config.shutdownDrainMs + 2000);
    timer.unref();
    // Phase 1, drain: keep serving, but tell clients to close their connections, and let the
    // requests already sent (in socket buffers, not yet parsed) be read. Closing at once
    // would count those connections as idle and reset them.
    startDraining(http);
    await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
    // Phase 2: stop listening; keep-alive connections whose last request finishes are closed
    // as they go idle (else they would hold the server open until their timeout).
    setInterval(() => http.server.closeIdleConnections(), 100).unref();
    // Webhook attempts get the same grace; unfinished ones stay pending for the next start.
    await Promise.all([http.close(), grpc.shutdown(config.shutdownGraceMs), rampart.webhooks.stop(config.shutdownGraceMs)]);
    await rampart.close();
    logger.info("stopped");
    logger.flush?.();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((err: unknown) => fail((err as Error).message ?? String(err)));
