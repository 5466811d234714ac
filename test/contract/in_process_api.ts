/** The contract client for embedding programs: calls core directly. */
import { CoreError, newRequestId, type OpenRampart, type Params } from "@rampart/core";
import { ApiError, type CallOptions, type ContractApi, type OpName } from "./api.ts";

/** A ContractApi that calls `rampart.<resource>.<op>` in-process. */
export function inProcessApi(rampart: OpenRampart, adminKey: string): ContractApi {
  return {
    name: "in-process",
    typed: false,
    async call(op: OpName, params: Params, options: CallOptions = {}) {
      const [resource, action] = op.split(".") as [keyof OpenRampart, string];
      const group = rampart[resource] as unknown as Record<string, (ctx: unknown, params: Params) => Promise<unknown>>;
      const requestId = newRequestId();
      const apiKey = options.apiKey === undefined ? adminKey : options.apiKey;
      const ctx = { requestId, credentials: apiKey === null ? {} : { apiKey }, ...(options.realmId ? { realmId: options.realmId } : {}) };
      try {
        const body = (await group[action]!(ctx, structuredClone(params))) as Record<string, unknown> | undefined;
        // Round-trip through JSON, as every other surface does.
        return { body: body === undefined ? undefined : (JSON.parse(JSON.stringify(body)) as Record<string, unknown>), requestId };
      } catch (err) {
        if (err instanceof CoreError) throw new ApiError(err.kind, err.code, err.errors, requestId, err.rateLimit?.retryAfter);
        throw err;
      }
    },
    async close() {},
  };
}
