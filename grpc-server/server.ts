/**
 * The gRPC server over core. Thin by design (design.md): per RPC it parses metadata and the
 * peer into a CallContext, converts the request message into v1 params, calls the core
 * operation, and converts the v1 result or error back. It also serves grpc.health.v1.Health and server
 * reflection, limits message sizes and shuts down gracefully.
 */
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import type { DescMethod } from "@bufbuild/protobuf";
import { deepFreeze, ioTurnNow, type Logger, type Rampart, newRequestId, toCoreError } from "@rampart/core";
import { HealthImplementation, protoPath as healthProtoPath, type ServingStatus } from "grpc-health-check";
import { callContextFrom } from "./call_context.ts";
import { jsonToMessage, type MessageObject, messageToJson } from "./convert.ts";
import { errorStatus } from "./error_status.ts";
import { operationOf, type RpcOperation, SERVICE_BINDINGS } from "./routes.ts";
import { methodAt, reflectionPackageDefinition } from "./schema.ts";
import { METADATA } from "./status.ts";

/** Default limit for one request or response message: 1 MiB, like the HTTP body limit. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** Default time in-flight calls get to finish on shutdown before they are cut off. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/** Options of {@link createGrpcServer}. */
export interface GrpcServerOptions {
  /**
   * Structured logger (pino-compatible). Gets one `info` line per call (request id, method,
   * status code, duration) and an `error` line with the request id for every unexpected
   * fault. Default: warnings and errors as JSON lines on stderr, no per-call lines.
   */
  logger?: Logger;
  /** Largest request or response message in bytes; larger ones are RESOURCE_EXHAUSTED. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Called as every call ends (metrics): full method path, status code name, duration in seconds. */
  onCallEnd?: (method: string, code: string, seconds: number) => void;
}

/** A gRPC server serving one Rampart. */
export interface GrpcServer {
  /** The underlying @grpc/grpc-js server (services are already added). */
  readonly server: grpc.Server;
  /**
   * Binds `host:port` without TLS (port 0 picks a free one), starts serving and, once the
   * database answers, reports SERVING on the health service. Resolves with the bound port.
   */
  listen(host: string, port: number): Promise<number>;
  /**
   * Reports NOT_SERVING, refuses new calls and lets in-flight ones finish; after `graceMs`
   * (default 10 s) the remaining calls are cancelled. Does not close the Rampart.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Creates the gRPC server for `rampart`; call `listen` to serve. */
export function createGrpcServer(rampart: Rampart, options: GrpcServerOptions = {}): GrpcServer {
  const logger = options.logger ?? stderrLogger;
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const requestIds = new WeakMap<grpc.Metadata, string>();
  const server = new grpc.Server({
    "grpc.max_receive_message_length": maxBytes,
    "grpc.max_send_message_length": maxBytes,
    interceptors: [requestIdInterceptor(requestIds, logger, options.onCallEnd)],
  });
  const requestIdOf = (metadata: grpc.Metadata): string => requestIds.get(metadata) ?? newRequestId();

  const serviceNames: string[] = [];
  for (const binding of SERVICE_BINDINGS) {
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [key, operationName] of Object.entries(binding.operations)) {
      const definition = binding.service[key]!;
      implementation[key] = unaryHandler(methodAt(definition.path), operationOf(rampart, operationName), requestIdOf, logger);
    }
    server.addService(withSharedResponses(binding.service), implementation);
    serviceNames.push(methodAt(Object.values(binding.service)[0]!.path).parent.typeName);
  }

  const health = new HealthImplementation(Object.fromEntries(["", ...serviceNames].map((name) => [name, "NOT_SERVING"])));
  const setHealth = (status: ServingStatus): void => {
    for (const name of ["", ...serviceNames]) health.setStatus(name, status);
  };
  health.addToServer(server);
  // Reflection describes the Rampart services and the health service, so tools such as
  // grpcurl can call either without local protos.
  new ReflectionService({ ...loadSync(healthProtoPath, { keepCase: true }), ...reflectionPackageDefinition() }).addToServer(server);

  return {
    server,
    async listen(host, port) {
      const address = host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
      const bound = await new Promise<number>((resolve, reject) => {
        server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, boundPort) => (err ? reject(err) : resolve(boundPort)));
      });
      await rampart.health();
      setHealth("SERVING");
      return bound;
    },
    async shutdown(graceMs = DEFAULT_SHUTDOWN_GRACE_MS) {
      setHealth("NOT_SERVING");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/** One RPC: metadata → context, message → params, core → message or error status. */
function unaryHandler(
  method: DescMethod,
  operation: RpcOperation,
  requestIdOf: (metadata: grpc.Metadata) => string,
  logger: Logger,
): grpc.handleUnaryCall<MessageObject, MessageObject> {
  const rpc = `${method.parent.typeName}/${method.name}`;
  // Core answers repeated reads with one frozen object (its read cache); its message is made
  // once, frozen too, so that its encoding is also made once (withSharedResponses).
  const messages = new WeakMap<object, MessageObject>();
  const toMessage = (result: MessageObject): MessageObject => {
    if (!Object.isFrozen(result)) return jsonToMessage(method.output, result);
    let message = messages.get(result);
    if (message === undefined) messages.set(result, (message = deepFreeze(jsonToMessage(method.output, result))));
    return message;
  };
  return (call, callback) => {
    const requestId = requestIdOf(call.metadata);
    // grpc-js starts a call from the read of its last bytes: calls read together share one
    // check for other processes' commits (core/io_turn.ts, ADR 0005).
    const ioTurn = ioTurnNow();
    const run = async (): Promise<MessageObject> => {
      const ctx = callContextFrom(requestId, call.metadata, () => call.getPeer(), ioTurn);
      const result = await operation(ctx, messageToJson(method.input, call.request, "params"));
      // Delete resolves with nothing; its response is google.protobuf.Empty.
      return toMessage((result ?? {}) as MessageObject);
    };
    run().then(
      (response) => callback(null, response),
      (err: unknown) => {
        const { error, unexpected } = toCoreError(err);
        if (unexpected || error.kind === "INTERNAL") logger.error({ err, requestId, rpc }, "unexpected error");
        callback(errorStatus(error));
      },
    );
  };
}

/** A service definition whose responses, when frozen (shared), are encoded once each. */
function withSharedResponses(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const [key, definition] of Object.entries(service)) {
    const encode = definition.responseSerialize;
    const encoded = new WeakMap<object, Buffer>();
    // grpc-js copies the bytes into each call's frame, so one buffer can serve every call.
    const responseSerialize = (value: object): Buffer => {
      if (!Object.isFrozen(value)) return encode(value);
      let bytes = encoded.get(value);
      if (bytes === undefined) encoded.set(value, (bytes = encode(value)));
      return bytes;
    };
    out[key] = { ...definition, responseSerialize };
  }
  return out;
}

/**
 * Gives every call (Rampart, health and reflection alike) a fresh request id: recorded for
 * the handler, sent in the initial metadata and repeated in the trailers of errors.
 */
function requestIdInterceptor(requestIds: WeakMap<grpc.Metadata, string>, logger: Logger, onCallEnd: GrpcServerOptions["onCallEnd"]): grpc.ServerInterceptor {
  return (descriptor, next) => {
    const requestId = newRequestId();
    const started = performance.now();
    const call: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(next, {
      start(startNext) {
        startNext({
          onReceiveMetadata(metadata, metadataNext) {
            requestIds.set(metadata, requestId);
            // Send the headers at once: errors grpc-js raises by itself later (a message over
            // the size limit, an undecodable message) bypass the interceptors, and would
            // otherwise reach the client without any request id.
            call.sendMetadata(new grpc.Metadata());
            metadataNext(metadata);
          },
        });
      },
      sendMetadata(metadata, metadataNext) {
        metadata.set(METADATA.requestId, requestId);
        metadataNext(metadata);
      },
      sendStatus(status, statusNext) {
        let out = status;
        if (status.code !== grpc.status.OK) {
          const metadata = status.metadata ?? new grpc.Metadata();
          metadata.set(METADATA.requestId, requestId);
          out = { ...status, metadata };
        }
        const ms = performance.now() - started;
        logger.info({ requestId, rpc: descriptor.path, code: grpc.status[status.code], ms: Math.round(ms) }, "grpc call");
        onCallEnd?.(descriptor.path, grpc.status[status.code], ms / 1000);
        statusNext(out);
      },
    });
    return call;
  };
}

/** The default logger: warnings and errors as JSON lines on stderr; errors keep their stack. */
const stderrLogger: Logger = {
  info() {},
  warn: (obj, msg) => writeLine("warn", obj, msg),
  error: (obj, msg) => writeLine("error", obj, msg),
};

function writeLine(level: string, obj: object, msg: string | undefined): void {
  const fields = Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, v instanceof Error ? { type: v.name, message: v.message, stack: v.stack } : v]));
  process.stderr.write(`${JSON.stringify({ level, time: Date.now(), ...fields, msg })}\n`);
}
