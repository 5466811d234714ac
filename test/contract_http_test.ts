/** The contract cases over HTTP on a real socket. */
import { contractCases } from "./contract/cases.ts";
import { httpApi } from "./contract/http_api.ts";

contractCases("http", async (rampart, adminKey) => httpApi(rampart, adminKey));
