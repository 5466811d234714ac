/**
 * Baseline: a bare @grpc/grpc-js unary echo service (proto-loader, no interceptors). Prints
 * `READY <port>` once bound to 127.0.0.1; stops on SIGTERM.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const definition = protoLoader.loadSync("echo.proto", { includeDirs: [fixtures], keepCase: true });
const pkg = grpc.loadPackageDefinition(definition) as any;

const server = new grpc.Server();
server.addService(pkg.bench.v1.EchoService.service, {
  Echo(call: grpc.ServerUnaryCall<{ message: string }, { message: string }>, callback: grpc.sendUnaryData<{ message: string }>) {
    callback(null, { message: call.request.message });
  },
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`READY ${port}\n`);
});
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
