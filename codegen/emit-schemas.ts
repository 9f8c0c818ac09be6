// Emits TypeBox schemas (src/generated/schemas.ts) and the OpenAPI document from one model.
// Two directions per message: `In` is what MLflow accepts (int64 as a number or a decimal
// string, enums by name or number), `Out` what it emits (int64 as numbers, enums by name).
import { httpPaths, ident, wildcardParam, WKT_JSON, type Field, type Model } from "./model";

type Dir = "In" | "Out";

function reachable(model: Model, roots: string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const walk = (name: string) => {
    if (seen.has(name) || !model.messages.has(name)) return;
    seen.add(name);
    for (const f of model.messages.get(name)!.fields) {
      const ref = f.map ? f.map.ref : f.ref;
      if (ref && (f.kind === "message" || f.map?.value === "message")) walk(ref);
    }
    order.push(name); // dependencies first
  };
  roots.forEach(walk);
  return order;
}

/** Messages that (directly or not) contain themselves are typed loosely to keep schemas finite. */
function recursive(model: Model): Set<string> {
  const out = new Set<string>();
  const refs = (n: string) =>
    (model.messages.get(n)?.fields ?? []).map((f) => (f.map ? f.map.ref : f.ref)).filter((r): r is string => !!r && model.messages.has(r));
  for (const start of model.messages.keys()) {
    const stack = [...refs(start)];
    const seen = new Set<string>();
    while (stack.length) {
      const n = stack.pop()!;
      if (n === start) { out.add(start); break; }
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...refs(n));
    }
  }
  return out;
}

function scalarTs(kind: string, dir: Dir, enumRef: string | undefined, model: Model): string {
  switch (kind) {
    case "string": return "t.String()";
    case "bytes": return 't.String({ contentEncoding: "base64" })';
    case "bool": return "t.Boolean()";
    case "int32": case "uint32": return dir === "In" ? "Int32In" : "t.Integer()";
    case "int64": case "uint64": return dir === "In" ? "Int64In" : "t.Integer()";
    case "double": case "float": return dir === "In" ? "DoubleIn" : "DoubleOut";
    case "enum": {
      const names = model.enums.get(enumRef!)!.values.map(([n]) => `t.Literal(${JSON.stringify(n)})`);
      return dir === "In" ? `t.Union([${names.join(", ")}, t.Integer()])` : `t.Union([${names.join(", ")}])`;
    }
  }
  throw new Error(`no scalar schema for ${kind}`);
}

function fieldTs(f: Field, dir: Dir, model: Model, loose: Set<string>): string {
  const wkt = (ref: string) => ({ object: "t.Record(t.String(), t.Unknown())", any: "t.Unknown()", array: "t.Array(t.Unknown())", string: "t.String()" })[WKT_JSON[ref]!]!;
  const one = (kind: string, ref?: string): string => {
    if (kind === "json") return wkt(ref!);
    if (kind === "message") return loose.has(ref!) ? "t.Record(t.String(), t.Unknown())" : `${dir}.${ident(ref!)}`;
    return scalarTs(kind, dir, ref, model);
  };
  if (f.map) return `t.Record(t.String(), ${one(f.map.value, f.map.ref)})`;
  const item = one(f.kind, f.ref);
  return f.repeated ? `t.Array(${item})` : item;
}

export function emitSchemas(model: Model, header: string): string {
  const loose = recursive(model);
  const requests = reachable(model, model.rpcs.map((r) => r.request));
  const responses = reachable(model, model.rpcs.map((r) => r.response));
  const lines = [
    header,
    "// Plain TypeBox (the 0.34 line Elysia uses): Elysia's own `t` coerces numeric strings.",
    'import { Type as t } from "@sinclair/typebox";',
    "",
    "/** int64 as MLflow's parse_dict accepts it: a JSON number, or a string holding an integer. */",
    'const Int64In = t.Union([t.Integer(), t.String({ pattern: "^[-+]?[0-9]+(\\\\.0*)?$" })]);',
    'const Int32In = Int64In;',
    '/** doubles: numbers, or the strings "NaN", "Infinity", "-Infinity" and numeric strings. */',
    "const DoubleIn = t.Union([t.Number(), t.String()]);",
    '/** MLflow emits NaN and infinities as strings. */',
    'const DoubleOut = t.Union([t.Number(), t.Literal("NaN"), t.Literal("Infinity"), t.Literal("-Infinity")]);',
    "",
  ];
  for (const [dir, names] of [["In", requests], ["Out", responses]] as const) {
    lines.push(`export const ${dir} = {} as Record<string, any>;`);
    for (const name of names) {
      const msg = model.messages.get(name)!;
      // (validate_required) fields are required in requests, as MLflow's handlers check them.
      const props = msg.fields.map((f) =>
        dir === "In" && f.required ? `  ${f.name}: ${fieldTs(f, dir, model, loose)},` : `  ${f.name}: t.Optional(${fieldTs(f, dir, model, loose)}),`,
      );
      lines.push(`${dir}.${ident(name)} = t.Object({`, ...props, `}, { title: ${JSON.stringify(name)} });`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

// ---- OpenAPI -------------------------------------------------------------------------------

function jsonSchema(f: Field, dir: Dir, model: Model): unknown {
  const one = (kind: string, ref?: string): unknown => {
    switch (kind) {
      case "json": return ({ object: { type: "object" }, any: {}, array: { type: "array", items: {} }, string: { type: "string" } })[WKT_JSON[ref!]!];
      case "message": return { $ref: `#/components/schemas/${dir}.${ref}` };
      case "string": return { type: "string" };
      case "bytes": return { type: "string", format: "byte" };
      case "bool": return { type: "boolean" };
      case "int32": case "uint32": case "int64": case "uint64":
        return dir === "In" ? { oneOf: [{ type: "integer" }, { type: "string", pattern: "^-?[0-9]+$" }] } : { type: "integer", format: kind };
      case "double": case "float":
        return dir === "In" ? { oneOf: [{ type: "number" }, { type: "string" }] } : { oneOf: [{ type: "number" }, { type: "string", enum: ["NaN", "Infinity", "-Infinity"] }] };
      case "enum": {
        const names = model.enums.get(ref!)!.values.map(([n]) => n);
        return dir === "In" ? { oneOf: [{ type: "string", enum: names }, { type: "integer" }] } : { type: "string", enum: names };
      }
    }
    throw new Error(kind);
  };
  if (f.map) return { type: "object", additionalProperties: one(f.map.value, f.map.ref) };
  const item = one(f.kind, f.ref);
  return f.repeated ? { type: "array", items: item } : item;
}

export function emitOpenApi(model: Model): string {
  const schemas: Record<string, unknown> = {};
  for (const [dir, roots] of [["In", model.rpcs.map((r) => r.request)], ["Out", model.rpcs.map((r) => r.response)]] as const) {
    for (const name of reachable(model, roots)) {
      const msg = model.messages.get(name)!;
      const required = msg.fields.filter((f) => f.required).map((f) => f.name);
      schemas[`${dir}.${name}`] = {
        type: "object",
        properties: Object.fromEntries(msg.fields.map((f) => [f.name, jsonSchema(f, dir, model)])),
        ...(dir === "In" && required.length ? { required } : {}),
      };
    }
  }
  const error = { $ref: "#/components/schemas/Error" };
  schemas.Error = {
    type: "object",
    required: ["error_code", "message"],
    properties: { error_code: { type: "string" }, message: { type: "string" } },
  };
  const paths: Record<string, Record<string, unknown>> = {};
  const operationIds = new Set<string>();
  const unique = (id: string) => {
    let out = id;
    for (let i = 2; operationIds.has(out); i++) out = `${id}.${i}`;
    operationIds.add(out);
    return out;
  };
  for (const rpc of model.rpcs) {
    for (const e of rpc.endpoints) {
      const wildcard = wildcardParam(e);
      for (const p of httpPaths(e)) {
        const oaPath = p.replace(/:(\w+)/g, "{$1}").replace("*", `{${wildcard}}`);
        const params = [...oaPath.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
        const op: Record<string, unknown> = {
          operationId: unique(`${rpc.service}.${rpc.name}${p.startsWith("/ajax-api") ? ".ajax" : ""}`),
          tags: [rpc.service],
          summary: rpc.name,
          responses: {
            "200": { description: "OK", content: { "application/json": { schema: { $ref: `#/components/schemas/Out.${rpc.response}` } } } },
            default: { description: "MLflow error", content: { "application/json": { schema: error } } },
          },
        };
        if (e.method === "GET") {
          const msg = model.messages.get(rpc.request)!;
          op.parameters = [
            ...params,
            ...msg.fields
              .filter((f) => !params.some((x) => x.name === f.name) && f.kind !== "message" && f.kind !== "json")
              .map((f) => ({ name: f.name, in: "query", required: f.required, schema: jsonSchema(f, "In", model), ...(f.repeated ? { explode: true } : {}) })),
          ];
        } else {
          if (params.length) op.parameters = params;
          op.requestBody = { content: { "application/json": { schema: { $ref: `#/components/schemas/In.${rpc.request}` } } } };
        }
        (paths[oaPath] ??= {})[e.method.toLowerCase()] = op;
      }
    }
  }
  const doc = {
    openapi: "3.0.3",
    info: {
      title: "MLflow tracking server REST API (mlflow-bun)",
      version: model.mlflowVersion,
      description: `Generated from the protos of MLflow ${model.mlflowVersion}. Routes not served natively by mlflow-bun are proxied to the Python server.`,
    },
    paths,
    components: { schemas },
  };
  return JSON.stringify(doc, null, 1) + "\n";
}
