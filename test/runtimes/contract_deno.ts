/**
 * The core's contract on Deno 2: the in-process contract cases and the storage contract, with
 * `node:sqlite` and the Web Crypto test hasher. Run: `deno test --allow-all --no-check` on
 * this file (scripts/test.sh, README "The core on Deno and Bun").
 */
import { contractCases } from "../contract/cases.ts";
import { inProcessApi } from "../contract/in_process_api.ts";
import { storageContract } from "../contract/storage_cases.ts";
import { denoSqlite, openDenoRampart } from "./deno_rampart.ts";

contractCases("in-process, deno", async (rampart, adminKey) => inProcessApi(rampart, adminKey), openDenoRampart);
storageContract("node:sqlite on deno", (path) => denoSqlite(path, "readwrite"));
