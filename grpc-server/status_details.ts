/**
 * The rich error model on the wire: a google.rpc.Status, binary-encoded into the
 * `grpc-status-details-bin` trailer, whose `details` hold ErrorInfo, BadRequest and
 * RetryInfo packed in google.protobuf.Any. Decoding is exported for Rampart's gRPC clients.
 */
import { Any } from "./gen/google/protobuf/any.ts";
import { BadRequest, ErrorInfo, RetryInfo } from "./gen/google/rpc/error_details.ts";
import { Status } from "./gen/google/rpc/status.ts";

const TYPE_URL_PREFIX = "type.googleapis.com/";

/** The detail messages Rampart sends; each is optional. */
export interface ErrorDetails {
  /** The error slug as `reason`, domain "rampart". */
  errorInfo?: ErrorInfo;
  /** Field violations: the v1 `errors` object, one violation per message. */
  badRequest?: BadRequest;
  /** When to retry (throttling). */
  retryInfo?: RetryInfo;
}

/** A decoded google.rpc.Status with Rampart's details unpacked. */
export interface DecodedStatus extends ErrorDetails {
  code: number;
  message: string;
}

interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
}

const CODECS: { [K in keyof ErrorDetails]-?: { typeName: string; codec: MessageCodec<NonNullable<ErrorDetails[K]>> } } = {
  errorInfo: { typeName: "google.rpc.ErrorInfo", codec: ErrorInfo },
  badRequest: { typeName: "google.rpc.BadRequest", codec: BadRequest },
  retryInfo: { typeName: "google.rpc.RetryInfo", codec: RetryInfo },
};

/** Encodes a google.rpc.Status carrying `details` (for `grpc-status-details-bin`). */
export function encodeStatusDetails(code: number, message: string, details: ErrorDetails): Buffer {
  const packed: Any[] = [];
  for (const key of Object.keys(CODECS) as (keyof ErrorDetails)[]) {
    const value = details[key];
    if (value === undefined) continue;
    const { typeName, codec } = CODECS[key] as { typeName: string; codec: MessageCodec<typeof value> };
    packed.push({ type_url: TYPE_URL_PREFIX + typeName, value: Buffer.from(codec.encode(value).finish()) });
  }
  return Buffer.from(Status.encode({ code, message, details: packed }).finish());
}

/** Decodes a `grpc-status-details-bin` value; details of other types are skipped. */
export function decodeStatusDetails(bytes: Uint8Array): DecodedStatus {
  const status = Status.decode(bytes);
  const out: DecodedStatus = { code: status.code, message: status.message };
  const unpack = <K extends keyof ErrorDetails>(key: K): void => {
    const { typeName, codec } = CODECS[key];
    const any = status.details.find((d) => d.type_url === TYPE_URL_PREFIX + typeName);
    if (any) out[key] = codec.decode(any.value) as DecodedStatus[K];
  };
  unpack("errorInfo");
  unpack("badRequest");
  unpack("retryInfo");
  return out;
}
