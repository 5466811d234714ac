/**
 * I/O turns (CallContext.ioTurn): a number shared by the requests this process read from its
 * sockets in one poll phase of the event loop, and a larger one for each later phase.
 *
 * Node reads a request and runs its synchronous `onRequest` hooks inside the callback of the
 * socket read, in the poll phase; `setImmediate` callbacks run in the check phase right after
 * it. So the first request of a poll phase schedules the step to the next number, and every
 * request until then (all of that phase) gets the same one. Only requests read from a real
 * socket get a turn: `inject()` and other in-process requests may start in any phase.
 */
import { Socket } from "node:net";
import type { FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyRequest {
    /** Set by {@link ioTurnOf} from a synchronous `onRequest` hook: see http-bridge/io_turn.ts. */
    ioTurn: number | undefined;
  }
}

let turn = 0;
let stepScheduled = false;

function step(): void {
  turn++;
  stepScheduled = false;
}

/** The turn of `request`, read from a socket just now; undefined for in-process requests. */
export function ioTurnOf(request: FastifyRequest): number | undefined {
  if (!(request.raw.socket instanceof Socket)) return undefined;
  if (!stepScheduled) {
    stepScheduled = true;
    setImmediate(step);
  }
  return turn;
}
