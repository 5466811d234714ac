/**
 * `npm run grpc -- <package.Service/Method> '<json request>'`: a small gRPC client for the
 * README walkthrough and for operators without grpcurl. Loads proto/ with proto-loader,
 * sends RAMPART_API_KEY / RAMPART_REALM as metadata, prints the response as JSON.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const USAGE = `Usage: npm run grpc -- <rampart.v1.Service/Method> ['<json request>']

Environment: RAMPART_GRPC_ADDR (default 127.0.0.1:50051), RAMPART_API_KEY, RAMPART_REALM.
Example:     npm run grpc -- rampart.v1.RealmService/ListRealms '{}'`;

function die(message: string): never {
  process.stderr.write(`rampart grpc: ${message}\n`);
  process.exit(2);
}

const [target, body = "{}"] = process.argv.slice(2);
if (!target || target === "--help" || target === "-h") {
  process.stdout.write(`${USAGE}\n`);
  process.exit(target ? 0 : 2);
}
const match = /^([\w.]+)\.(\w+)\/(\w+)$/.exec(target);
if (!match) die(`"${target}" is not of the form package.Service/Method\n\n${USAGE}`);
const [, pkg, service, method] = match as unknown as [string, string, string, string];
let request: unknown;
try {
  request = JSON.parse(body);
} catch (err) {
  die(`the request is not JSON: ${(err as Error).message}`);
}

const protoRoot = join(import.meta.dirname, "..", "proto");
const files = readdirSync(join(protoRoot, "rampart", "v1")).map((f) => `rampart/v1/${f}`);
const definition = protoLoader.loadSync(files, { includeDirs: [protoRoot], keepCase: true, longs: Number, enums: String, defaults: false, oneofs: true });
const loaded = grpc.loadPackageDefinition(definition);
let ctor: unknown = loaded;
for (const part of `${pkg}.${service}`.split(".")) ctor = (ctor as Record<string, unknown> | undefined)?.[part];
if (typeof ctor !== "function") die(`unknown service ${pkg}.${service}`);
const client = new (ctor as typeof grpc.Client)(process.env.RAMPART_GRPC_ADDR ?? "127.0.0.1:50051", grpc.credentials.createInsecure()) as unknown as Record<
  string,
  (req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void
>;
if (typeof client[method] !== "function") die(`${pkg}.${service} has no method ${method}`);
const metadata = new grpc.Metadata();
if (process.env.RAMPART_API_KEY) metadata.set("x-authrocket-api-key", process.env.RAMPART_API_KEY);
if (process.env.RAMPART_REALM) metadata.set("x-authrocket-realm", process.env.RAMPART_REALM);
client[method]!.call(client, request, metadata, (err, res) => {
  if (err) {
    const code = err.metadata?.get("x-error-code")[0];
    die(`${grpc.status[err.code]}${code ? ` (${String(code)})` : ""}: ${err.details}`);
  }
  process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
  process.exit(0);
});
