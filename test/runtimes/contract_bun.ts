/**
 * The core's contract on Bun 1: the in-process contract cases and the storage contract, with
 * `bun:sqlite` and the Web Crypto test hasher. Run: `bun test ./test/runtimes/contract_bun.ts`
 * (scripts/test.sh, README "The core on Deno and Bun").
 */
import { contractCases } from "../contract/cases.ts";
import { inProcessApi } from "../contract/in_process_api.ts";
import { storageContract } from "../contract/storage_cases.ts";
import { bunSqlite, openBunRampart } from "./bun_rampart.ts";

contractCases("in-process, bun", async (rampart, adminKey) => inProcessApi(rampart, adminKey), openBunRampart);
storageContract("bun:sqlite on bun", (path) => bunSqlite(path, "readwrite"));
