/** The contract cases over gRPC against a real server. */
import { contractCases } from "./contract/cases.ts";
import { grpcApi } from "./contract/grpc_api.ts";

contractCases("grpc", async (rampart, adminKey) => grpcApi(rampart, adminKey));
