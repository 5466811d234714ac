/**
 * SQL statements (and write transactions) per request, which the server cannot report over
 * HTTP: core is opened in-process on the seeded database (after the server has stopped) and
 * `statementCount()`/`writeCount()` are read around one call of the operation each scenario's
 * route calls. The first call fills caches (prepared statements, the verified admin key); the
 * second is the steady state the loads see.
 */
import { openRampart, type CallContext, type Params } from "@rampart/core";
import { nodeDeps } from "@rampart/core/adapters/node";
import type { HttpSeed } from "./seed.ts";

/** Statements and writes of one call. */
export interface CallCost {
  statements: number;
  writes: number;
}

/** The first (cold) and second (warm) call of one operation. */
export interface StatementCount {
  id: string;
  operation: string;
  cold: CallCost;
  warm: CallCost;
}

/** Counts statements for P1, P2 and P4 (10 and 100 memberships). */
export async function countStatements(dbPath: string, adminKey: string, seed: HttpSeed, synchronous: "FULL" | "NORMAL"): Promise<StatementCount[]> {
  const rampart = openRampart(nodeDeps({ path: dbPath, synchronous }));
  try {
    const ctx: CallContext = { requestId: "rq_benchstatementcount0000", credentials: { apiKey: adminKey }, realmId: seed.realmId };
    const measure = async (id: string, operation: string, fn: () => Promise<unknown>): Promise<StatementCount> => {
      const one = async (): Promise<CallCost> => {
        const s0 = rampart.statementCount();
        const w0 = rampart.writeCount();
        await fn();
        return { statements: rampart.statementCount() - s0, writes: rampart.writeCount() - w0 };
      };
      const cold = await one();
      const warm = await one();
      return { id, operation, cold, warm };
    };
    const get = (params: Params) => () => rampart.users.get(ctx, params);
    return [
      await measure("P1", "sessions.get (token)", () => rampart.sessions.get(ctx, { id: seed.sessionToken })),
      await measure("P2", "users.authenticateKey", () => rampart.users.authenticateKey(ctx, { api_key: seed.apiUser.apiKey })),
      await measure("P4", "users.get expands=memberships (10)", get({ id: seed.member10, expands: "memberships" })),
      await measure("P4/100", "users.get expands=memberships (100)", get({ id: seed.member100, expands: "memberships" })),
    ];
  } finally {
    await rampart.close();
  }
}
