/** The contract cases against core called in-process. */
import { contractCases } from "./contract/cases.ts";
import { inProcessApi } from "./contract/in_process_api.ts";

contractCases("in-process", async (rampart, adminKey) => inProcessApi(rampart, adminKey));
