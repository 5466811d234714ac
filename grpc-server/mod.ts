/**
 * @module
 * Rampart's gRPC surface: {@link createGrpcServer} serves the rampart.v1 services (protos in
 * proto/rampart/v1, generated code in gen/) over one core, plus health and reflection.
 */
export { createGrpcServer, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_SHUTDOWN_GRACE_MS, type GrpcServer, type GrpcServerOptions } from "./server.ts";
export { GRPC_STATUS_BY_KIND, METADATA } from "./status.ts";
export { decodeStatusDetails, type DecodedStatus, type ErrorDetails } from "./status_details.ts";
export { ConversionError, jsonToMessage, messageToJson, type JsonMode, type MessageObject } from "./convert.ts";
export { operationOf, SERVICE_BINDINGS, type OperationName, type RpcOperation, type ServiceBinding } from "./routes.ts";
export { callContextFrom, connectionFrom, peerIp } from "./call_context.ts";
export { methodAt, schemaRegistry } from "./schema.ts";
