// Reads protos/mlflow.binpb and reduces it to the model every emitter works from:
// the served services' RPCs with their HTTP endpoints, and every message and enum they reach.
import {
  createFileRegistry,
  fromBinary,
  getExtension,
  hasExtension,
  ScalarType,
  type DescField,
  type DescMessage,
  type FileRegistry,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

/** The services `mlflow server` mounts (handlers.get_endpoints), in its order. */
export const SERVED_SERVICES = [
  "mlflow.MlflowService",
  "mlflow.ModelRegistryService",
  "mlflow.artifacts.MlflowArtifactsService",
  "mlflow.WebhookService",
] as const;

export type Kind =
  | "string" | "bytes" | "bool" | "int32" | "int64" | "uint32" | "uint64"
  | "double" | "float" | "enum" | "message" | "json";

/** Well-known types that cross the wire as plain JSON rather than as objects of fields. */
export const WKT_JSON: Record<string, string> = {
  "google.protobuf.Struct": "object",
  "google.protobuf.Value": "any",
  "google.protobuf.ListValue": "array",
  "google.protobuf.Timestamp": "string",
  "google.protobuf.Duration": "string",
  "google.protobuf.FieldMask": "string",
};

export interface Field {
  name: string;
  json: string;
  kind: Kind;
  repeated: boolean;
  map?: { key: Kind; value: Kind; ref?: string };
  ref?: string; // message or enum full name; for "json" the WKT name
  default?: string | number | boolean;
  required: boolean; // the (validate_required) option
}

export interface Message { name: string; fields: Field[] }
export interface Endpoint { method: string; path: string; since: number }
export interface Rpc {
  service: string; // short name, e.g. MlflowService
  name: string; // e.g. createExperiment
  request: string;
  response: string;
  endpoints: Endpoint[];
}

export interface Model {
  mlflowVersion: string;
  rpcs: Rpc[];
  messages: Map<string, Message>;
  enums: Map<string, { name: string; values: [string, number][] }>;
}

/** protoc's json_name rule: drop underscores, upper-case the letter after one. */
export function jsonName(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()).replace(/_/g, "");
}

const SCALAR: Record<number, Kind> = {
  [ScalarType.STRING]: "string",
  [ScalarType.BYTES]: "bytes",
  [ScalarType.BOOL]: "bool",
  [ScalarType.INT32]: "int32",
  [ScalarType.SINT32]: "int32",
  [ScalarType.SFIXED32]: "int32",
  [ScalarType.INT64]: "int64",
  [ScalarType.SINT64]: "int64",
  [ScalarType.SFIXED64]: "int64",
  [ScalarType.UINT32]: "uint32",
  [ScalarType.FIXED32]: "uint32",
  [ScalarType.UINT64]: "uint64",
  [ScalarType.FIXED64]: "uint64",
  [ScalarType.DOUBLE]: "double",
  [ScalarType.FLOAT]: "float",
};

function messageKind(m: DescMessage): { kind: Kind; ref: string } {
  return { kind: WKT_JSON[m.typeName] ? "json" : "message", ref: m.typeName };
}

export function loadModel(binpb: Uint8Array, mlflowVersion: string): Model {
  const registry: FileRegistry = createFileRegistry(fromBinary(FileDescriptorSetSchema, binpb));
  const rpcExt = registry.getExtension("mlflow.rpc");
  const requiredExt = registry.getExtension("mlflow.validate_required");
  if (!rpcExt || !requiredExt) throw new Error("databricks.proto options missing from descriptor set");

  const messages = new Map<string, Message>();
  const enums: Model["enums"] = new Map();

  const toField = (f: DescField): Field => {
    const opts = f.proto.options;
    const required = !!opts && hasExtension(opts, requiredExt) && getExtension(opts, requiredExt) === true;
    const base = { name: f.name, json: jsonName(f.name), required };
    switch (f.fieldKind) {
      case "scalar":
        return { ...base, kind: SCALAR[f.scalar]!, repeated: false, default: scalarDefault(f) };
      case "enum":
        visitEnum(f.enum);
        return { ...base, kind: "enum", ref: f.enum.typeName, repeated: false, default: enumDefault(f) };
      case "message":
        visit(f.message);
        return { ...base, ...messageKind(f.message), repeated: false };
      case "list":
        if (f.listKind === "scalar") return { ...base, kind: SCALAR[f.scalar]!, repeated: true };
        if (f.listKind === "enum") {
          visitEnum(f.enum);
          return { ...base, kind: "enum", ref: f.enum.typeName, repeated: true };
        }
        visit(f.message);
        return { ...base, ...messageKind(f.message), repeated: true };
      case "map": {
        const key = SCALAR[f.mapKey]!;
        if (f.mapKind === "scalar") return { ...base, kind: "message", repeated: false, map: { key, value: SCALAR[f.scalar]! } };
        if (f.mapKind === "enum") {
          visitEnum(f.enum);
          return { ...base, kind: "message", repeated: false, map: { key, value: "enum", ref: f.enum.typeName } };
        }
        visit(f.message);
        const v = messageKind(f.message);
        return { ...base, kind: "message", repeated: false, map: { key, value: v.kind, ref: v.ref } };
      }
    }
  };

  function visitEnum(e: { typeName: string; values: { name: string; number: number }[] }) {
    if (enums.has(e.typeName)) return;
    enums.set(e.typeName, { name: e.typeName, values: e.values.map((v) => [v.name, v.number]) });
  }

  function visit(m: DescMessage) {
    if (messages.has(m.typeName) || WKT_JSON[m.typeName]) return;
    const msg: Message = { name: m.typeName, fields: [] };
    messages.set(m.typeName, msg); // before recursing: messages may refer to themselves
    msg.fields = m.fields.map(toField);
  }

  const rpcs: Rpc[] = [];
  for (const serviceName of SERVED_SERVICES) {
    const service = registry.getService(serviceName);
    if (!service) throw new Error(`service ${serviceName} missing from descriptor set`);
    for (const method of service.methods) {
      const opts = method.proto.options;
      if (!opts || !hasExtension(opts, rpcExt)) continue;
      // The extension's message type has no generated code here; read it reflectively.
      const rpc = getExtension(opts, rpcExt) as unknown as {
        endpoints: { method: string; path: string; since?: { major: number } }[];
      };
      visit(method.input);
      visit(method.output);
      rpcs.push({
        service: service.name,
        name: method.name,
        request: method.input.typeName,
        response: method.output.typeName,
        endpoints: rpc.endpoints.map((e) => ({
          method: e.method || "POST",
          path: e.path,
          since: e.since?.major ?? 2,
        })),
      });
    }
  }
  return { mlflowVersion, rpcs, messages, enums };
}

function scalarDefault(f: DescField & { fieldKind: "scalar" }): string | number | boolean | undefined {
  const raw = f.proto.defaultValue;
  if (raw === undefined || raw === "") return undefined;
  const kind = SCALAR[f.scalar];
  if (kind === "bool") return raw === "true";
  if (kind === "string" || kind === "bytes") return raw;
  return Number(raw);
}

function enumDefault(f: DescField & { fieldKind: "enum" }): string {
  const raw = f.proto.defaultValue;
  return raw ? raw : f.enum.values[0]!.name; // proto2: the first value unless one is named
}

/** MLflow's route rule (_get_paths): `/api/{since}.0{path}` and `/ajax-api/...`, params made Elysia-style. */
export function httpPaths(e: Endpoint): string[] {
  const path = e.path
    .replace(/\{assessment\.trace_id\}/g, ":trace_id")
    .replace(/\{(\w+)\}/g, ":$1")
    .replace(/<path:(\w+)>/g, "*")
    .replace(/<(\w+)>/g, ":$1");
  return [`/api/${e.since}.0${path}`, `/ajax-api/${e.since}.0${path}`];
}

/** Name of the path parameter a `<path:x>` wildcard binds, if any. */
export function wildcardParam(e: Endpoint): string | undefined {
  return /<path:(\w+)>/.exec(e.path)?.[1];
}

export function ident(typeName: string): string {
  return typeName.replace(/\./g, "_");
}

/** A JS object literal for generated code: unquoted keys, a space after each separator. */
export function literal(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(literal).join(", ")}]`;
  if (value && typeof value === "object") {
    const body = Object.entries(value).map(([k, v]) => `${/^[A-Za-z_]\w*$/.test(k) ? k : JSON.stringify(k)}: ${literal(v)}`);
    return `{ ${body.join(", ")} }`;
  }
  return JSON.stringify(value);
}
