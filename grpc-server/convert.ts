/**
 * Generic conversion between v1 JSON (core's params and results) and the objects ts-proto
 * encodes and decodes, driven by the message descriptors in gen/rampart.binpb. Because the
 * protos use the v1 names (snake_case, kept by ts-proto's `snakeToCamel=false`), most values
 * pass through unchanged; only these differ:
 *
 * | proto                          | ts-proto object      | v1 JSON                          |
 * |--------------------------------|----------------------|----------------------------------|
 * | google.protobuf.Timestamp      | Date                 | unix seconds (ms fraction)       |
 * | google.protobuf.Struct         | plain object         | plain object                     |
 * | rampart.v1.StringList          | `{values: [...]}`    | array of strings                 |
 * | rampart.v1.NullableTimestamp   | `{value?: Date}`     | unix seconds; `null` if no value |
 * | unset `optional` / message     | undefined            | null (results) / absent (params) |
 * | empty repeated                 | []                   | [] (results) / absent (params)   |
 *
 * One walk per direction serves every resource, so a new field or message needs no code.
 */
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";

const TIMESTAMP = "google.protobuf.Timestamp";
const STRUCT = "google.protobuf.Struct";
const STRING_LIST = "rampart.v1.StringList";
const NULLABLE_TIMESTAMP = "rampart.v1.NullableTimestamp";

/** A message as ts-proto represents it. */
export type MessageObject = Record<string, unknown>;

/**
 * What a decoded message is turned into:
 * - `params`: core call params. Unset fields and empty lists are left out, as a JSON body
 *   that does not mention them (`expands: []` and no `expands` mean the same in proto3).
 * - `v1`: a v1 JSON result. Unset optional scalars, timestamps and messages become `null` as
 *   in v1; an unset `custom` (Struct) is left out, as v1 lists leave out unexpanded `custom`.
 */
export type JsonMode = "params" | "v1";

/** A value that has no representation in the target shape; `path` names the field. */
export class ConversionError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "ConversionError";
    this.path = path;
  }
}

/** Options of {@link jsonToMessage}. */
export interface FromJsonOptions {
  /**
   * Called for each JSON key the message has no field for. Default: ignore it (core may
   * return more than a proto version knows). Pass a thrower to insist on a 1:1 mapping.
   */
  onUnknownKey?: (path: string) => void;
  /**
   * Read `null` as v1 params mean it, "clear this attribute", using the proto's way of
   * saying so: "" for an optional string, {} for a Struct, an empty StringList, a
   * NullableTimestamp without a value. Default (results): `null` leaves the field unset.
   */
  nullClears?: boolean;
}

const fieldMaps = new WeakMap<DescMessage, Map<string, DescField>>();

/** The fields of `desc` by proto name (DescMessage indexes them by camelCase local name). */
function fieldsByName(desc: DescMessage): Map<string, DescField> {
  let map = fieldMaps.get(desc);
  if (!map) {
    map = new Map(desc.fields.map((f) => [f.name, f]));
    fieldMaps.set(desc, map);
  }
  return map;
}

// ---------------------------------------------------------------------------------------
// ts-proto object → JSON

/** Turns a decoded message (ts-proto object) into v1 JSON; see {@link JsonMode}. */
export function messageToJson(desc: DescMessage, message: MessageObject, mode: JsonMode): MessageObject {
  const out: MessageObject = {};
  for (const field of desc.fields) {
    const value = fieldToJson(field, message[field.name], mode);
    if (value !== undefined) out[field.name] = value;
  }
  return out;
}

function fieldToJson(field: DescField, value: unknown, mode: JsonMode): unknown {
  switch (field.fieldKind) {
    case "list": {
      const items = (value as unknown[] | undefined) ?? [];
      if (mode === "params" && items.length === 0) return undefined;
      return field.listKind === "message" ? items.map((item) => messageValueToJson(field.message, item, mode)) : [...items];
    }
    case "message":
      if (value === undefined || value === null) return mode === "params" || field.message.typeName === STRUCT ? undefined : null;
      return messageValueToJson(field.message, value, mode);
    case "map":
      return value === undefined ? (mode === "params" ? undefined : {}) : { ...(value as MessageObject) };
    case "scalar":
    case "enum":
      if (value === undefined || value === null) return mode === "params" ? undefined : null;
      return value;
  }
}

function messageValueToJson(desc: DescMessage, value: unknown, mode: JsonMode): unknown {
  switch (desc.typeName) {
    case TIMESTAMP:
      return (value as Date).getTime() / 1000;
    case STRUCT:
      return value; // ts-proto already unwrapped it into a plain object
    case STRING_LIST:
      return [...(value as { values: string[] }).values];
    case NULLABLE_TIMESTAMP: {
      const time = (value as { value?: Date }).value;
      return time === undefined ? null : time.getTime() / 1000;
    }
    default:
      return messageToJson(desc, value as MessageObject, mode);
  }
}

// ---------------------------------------------------------------------------------------
// JSON → ts-proto object

/**
 * Turns v1 JSON into a message object ts-proto can encode: `null` leaves a field unset (or,
 * with `nullClears`, clears it), unix seconds become Dates, implicit-presence scalars get
 * their zero value, lists are never undefined. Also accepts the looser forms v1 params use (numeric strings, comma lists,
 * ISO-8601 times). Throws {@link ConversionError} for a value of the wrong shape.
 */
export function jsonToMessage(desc: DescMessage, json: MessageObject, options: FromJsonOptions = {}, path = ""): MessageObject {
  const out: MessageObject = {};
  for (const field of desc.fields) {
    out[field.name] = jsonToField(field, json[field.name], options, path + field.name);
  }
  if (options.onUnknownKey) {
    const known = fieldsByName(desc);
    for (const key of Object.keys(json)) if (!known.has(key)) options.onUnknownKey(path + key);
  }
  return out;
}

function jsonToField(field: DescField, value: unknown, options: FromJsonOptions, path: string): unknown {
  switch (field.fieldKind) {
    case "list": {
      if (value === undefined || value === null) return [];
      // v1 also takes a comma list wherever it takes a list of strings.
      const items = typeof value === "string" && field.listKind === "scalar" && field.scalar === ScalarType.STRING ? splitList(value) : value;
      if (!Array.isArray(items)) throw new ConversionError(path, "must be a list");
      return items.map((item, i) =>
        field.listKind === "message"
          ? jsonToMessageValue(field.message, item, options, `${path}[${i}]`)
          : field.listKind === "scalar"
            ? jsonToScalar(field.scalar, item, `${path}[${i}]`)
            : item,
      );
    }
    case "message":
      if (value === null && options.nullClears) return clearedMessage(field.message);
      return value === undefined || value === null ? undefined : jsonToMessageValue(field.message, value, options, path);
    case "map":
      if (value === undefined || value === null) return {};
      if (!isPlainObject(value)) throw new ConversionError(path, "must be an object");
      return { ...value };
    case "enum":
      return value ?? (field.presence === FeatureSet_FieldPresence.IMPLICIT ? 0 : undefined);
    case "scalar":
      if (value === null && options.nullClears && field.scalar === ScalarType.STRING) return "";
      if (value === undefined || value === null) return field.presence === FeatureSet_FieldPresence.IMPLICIT ? zeroValue(field.scalar) : undefined;
      return jsonToScalar(field.scalar, value, path);
  }
}

function jsonToMessageValue(desc: DescMessage, value: unknown, options: FromJsonOptions, path: string): unknown {
  switch (desc.typeName) {
    case TIMESTAMP:
      return toDate(value, path);
    case STRUCT:
      if (!isPlainObject(value)) throw new ConversionError(path, "must be an object");
      return value;
    case STRING_LIST: {
      const items = typeof value === "string" ? splitList(value) : value;
      if (!Array.isArray(items) || items.some((i) => typeof i !== "string")) throw new ConversionError(path, "must be a list of strings");
      return { values: [...items] };
    }
    case NULLABLE_TIMESTAMP:
      return { value: toDate(value, path) };
    default:
      if (!isPlainObject(value)) throw new ConversionError(path, "must be an object");
      return jsonToMessage(desc, value, options, `${path}.`);
  }
}

/** The "cleared" value of a message-typed field, or unset when it has none. */
function clearedMessage(desc: DescMessage): unknown {
  if (desc.typeName === STRUCT) return {};
  if (desc.typeName === STRING_LIST) return { values: [] };
  if (desc.typeName === NULLABLE_TIMESTAMP) return {};
  return undefined;
}

/** v1 times: unix seconds (number or numeric string, ms fraction allowed) or ISO-8601. */
function toDate(value: unknown, path: string): Date {
  if (value instanceof Date) return value;
  let ms = Number.NaN;
  if (typeof value === "number") ms = value * 1000;
  else if (typeof value === "string") ms = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : Date.parse(value);
  // Rounding: 1700000000.123 * 1000 is 1700000000122.9998 in binary floating point.
  if (!Number.isFinite(ms)) throw new ConversionError(path, "must be unix seconds or an ISO-8601 time");
  return new Date(Math.round(ms));
}

const INT32 = new Set([ScalarType.INT32, ScalarType.SINT32, ScalarType.SFIXED32]);
const UINT32 = new Set([ScalarType.UINT32, ScalarType.FIXED32]);

function jsonToScalar(type: ScalarType, value: unknown, path: string): unknown {
  switch (type) {
    case ScalarType.STRING:
      if (typeof value !== "string") throw new ConversionError(path, "must be a string");
      return value;
    case ScalarType.BOOL:
      if (typeof value === "boolean") return value;
      if (value === "true" || value === "1") return true;
      if (value === "false" || value === "0") return false;
      throw new ConversionError(path, "must be true or false");
    case ScalarType.BYTES:
      if (!(value instanceof Uint8Array)) throw new ConversionError(path, "must be bytes");
      return value;
    default: {
      const n = typeof value === "number" ? value : typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isFinite(n)) throw new ConversionError(path, "must be a number");
      if (type === ScalarType.DOUBLE || type === ScalarType.FLOAT) return n;
      // Out-of-range integers would wrap silently on the wire.
      const [min, max] = INT32.has(type) ? [-(2 ** 31), 2 ** 31 - 1] : UINT32.has(type) ? [0, 2 ** 32 - 1] : [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
      if (!Number.isInteger(n) || n < min || n > max) throw new ConversionError(path, `must be a whole number between ${min} and ${max}`);
      return n;
    }
  }
}

function zeroValue(type: ScalarType): unknown {
  switch (type) {
    case ScalarType.STRING:
      return "";
    case ScalarType.BOOL:
      return false;
    case ScalarType.BYTES:
      return new Uint8Array(0);
    default:
      return 0;
  }
}

function splitList(s: string): string[] {
  return s
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

function isPlainObject(v: unknown): v is MessageObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array);
}
