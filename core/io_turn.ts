/**
 * I/O turns (CallContext.ioTurn): one number for the calls a host reads from its sockets in
 * one poll phase of its event loop, and a larger one for each later phase.
 *
 * A host calls {@link ioTurnNow} while it handles a request it has just read from a socket
 * (inside the read's callback or the microtasks after it). The first call of a poll phase
 * schedules the step to the next number with `setImmediate`, whose callbacks run in the
 * check phase right after the poll phase, so every call until then gets the same number.
 * Where the runtime has no `setImmediate`, a zero timeout steps it later, which only makes
 * turns longer (calls share probes more, within the same millisecond: see
 * SqliteStore.noticeOtherWriters for the bound).
 */

let turn = 0;
let stepScheduled = false;

function step(): void {
  turn++;
  stepScheduled = false;
}

/**
 * Runs `fn` after the current turn of the event loop, once the I/O callbacks of this turn
 * have run: `setImmediate` where the runtime has it (Node, Bun, Deno's Node globals), else a
 * zero timeout.
 */
export const afterThisTurn: (fn: () => void) => void = (() => {
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
  return typeof immediate === "function" ? (fn) => void immediate(fn) : (fn) => void setTimeout(fn, 0);
})();

/** The I/O turn of a request read from a socket just now. */
export function ioTurnNow(): number {
  if (!stepScheduled) {
    stepScheduled = true;
    afterThisTurn(step);
  }
  return turn;
}
