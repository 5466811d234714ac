/**
 * The compiled Rampart protos at run time. `scripts/gen.sh` writes `gen/rampart.binpb` (a
 * FileDescriptorSet built by buf from proto/) next to the ts-proto code; the server reads
 * message shapes from it for its generic conversion and serves it through reflection, so
 * both always describe exactly what the generated code encodes.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createFileRegistry, fromBinary, toBinary, type DescMethod, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { PackageDefinition } from "@grpc/proto-loader";

// Resolved through the package (not `import.meta.url`), so it is found from a bundle too.
const DESCRIPTOR_SET_PATH = createRequire(import.meta.url).resolve("@rampart/grpc-server/gen/rampart.binpb");

let bytes: Buffer | undefined;
let registry: FileRegistry | undefined;

/** The serialized FileDescriptorSet of every Rampart proto and its imports. */
export function descriptorSetBytes(): Buffer {
  bytes ??= readFileSync(DESCRIPTOR_SET_PATH);
  return bytes;
}

/** Every message and service of the Rampart protos, by full name. */
export function schemaRegistry(): FileRegistry {
  registry ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSetBytes()));
  return registry;
}

/**
 * The descriptor of the RPC at a gRPC path such as `/rampart.v1.UserService/GetUser`.
 * Throws when the path is not in the schema (a mismatch between gen/ and the code).
 */
export function methodAt(path: string): DescMethod {
  const match = /^\/([^/]+)\/([^/]+)$/.exec(path);
  const service = match ? schemaRegistry().getService(match[1]!) : undefined;
  const method = service?.methods.find((m) => m.name === match![2]);
  if (!method) throw new Error(`no RPC ${path} in gen/rampart.binpb; run scripts/gen.sh`);
  return method;
}

/**
 * The schema in the shape @grpc/reflection takes (a proto-loader package definition), with
 * buf's file descriptors passed through verbatim. Reflection reads nothing but each entry's
 * `fileDescriptorProtos`; proto-loader's own loaders rebuild those through protobufjs, which
 * merges every file of a package into one and drops `proto3_optional`, so tools such as
 * grpcurl would see wrong file names, no imports and misplaced oneofs.
 */
export function reflectionPackageDefinition(): PackageDefinition {
  const set = fromBinary(FileDescriptorSetSchema, descriptorSetBytes());
  const fileDescriptorProtos = set.file.map((file) => Buffer.from(toBinary(FileDescriptorProtoSchema, file)));
  const entry = { format: "Protocol Buffer 3 FileDescriptorProto", fileDescriptorProtos };
  return { "rampart.v1": entry } as unknown as PackageDefinition;
}
