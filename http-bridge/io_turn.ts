/**
 * The I/O turn (CallContext.ioTurn, core/io_turn.ts) of an HTTP request. Node reads a request
 * and runs its synchronous `onRequest` hooks inside the callback of the socket read, in the
 * poll phase, where the turn is taken. Only requests read from a real socket get a turn:
 * `inject()` and other in-process requests may start in any phase.
 */
import { Socket } from "node:net";
import { ioTurnNow } from "@rampart/core";
import type { FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyRequest {
    /** Set by {@link ioTurnOf} from a synchronous `onRequest` hook: see http-bridge/io_turn.ts. */
    ioTurn: number | undefined;
  }
}

/** The turn of `request`, read from a socket just now; undefined for in-process requests. */
export function ioTurnOf(request: FastifyRequest): number | undefined {
  return request.raw.socket instanceof Socket ? ioTurnNow() : undefined;
}
