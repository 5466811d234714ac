/**
 * What a transport tells core about one call: who is calling and the request id.
 * Transports build it from headers/metadata; core decides what it means.
 */

/** Management credentials exactly as they arrived (not yet checked). */
export interface Credentials {
  /** `X-Authrocket-Api-Key` / metadata `x-authrocket-api-key`: a `ko_…` key, or `key_…` with `account`. */
  apiKey?: string;
  /** `X-Authrocket-Account` (legacy pair). */
  account?: string;
  /** The token of `Authorization: Bearer <token>`. */
  bearer?: string;
  /**
   * In-process trust: the object `OpenRampart.trustedContext()` hands out. An object
   * reference cannot travel over HTTP or gRPC, so no remote caller can forge it.
   */
  trusted?: object;
}

/** The per-call context every core operation takes. */
export interface CallContext {
  /** `rq_` + 22 base62; recorded on every event the call writes. */
  requestId: string;
  credentials: Credentials;
  /** The realm chosen by header/metadata (`X-Authrocket-Realm`), if any. */
  realmId?: string;
  /**
   * Set by a host on the calls whose requests it read from the OS in one batch of its event
   * loop (the same number for all of them, a new one for each batch): those calls share one
   * check for other processes' commits, made by the first of them, which is after all of
   * them began to arrive. Absent, a call makes its own check.
   */
  ioTurn?: number;
}

/** Raw call parameters: path ids, query and body merged, exactly as received (core validates). */
export type Params = Record<string, unknown>;

/** A JSON object as returned to clients. */
export type JsonObject = { [key: string]: unknown };

/** A list page. */
export interface ListResult<T = JsonObject> {
  collection: T[];
  more_results: boolean;
}
