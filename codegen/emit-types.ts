// Emits src/generated/types.ts (TypeScript shapes of parsed messages) and
// src/generated/fields.ts (the field tables the request parser walks at run time).
import { ident, literal, WKT_JSON, type Field, type Model } from "./model";

function tsType(f: Field, model: Model): string {
  const one = (kind: string, ref?: string): string => {
    switch (kind) {
      case "string": case "bytes": return "string";
      case "bool": return "boolean";
      case "int32": case "uint32": case "int64": case "uint64": case "double": case "float": return "number";
      case "enum": return ident(ref!);
      case "message": return ident(ref!);
      case "json": return WKT_JSON[ref!] === "string" ? "string" : "unknown";
    }
    throw new Error(kind);
  };
  if (f.map) return `Record<string, ${one(f.map.value, f.map.ref)}>`;
  const t = one(f.kind, f.ref);
  return f.repeated ? `${t}[]` : t;
}

export function emitTypes(model: Model, header: string): string {
  const out = [header, "// Unset fields are absent. Request messages come out of the parser with proto2 defaults", "// filled in for scalars and [] for repeated fields, as Python's message getters return them.", ""];
  for (const e of [...model.enums.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    out.push(`export type ${ident(e.name)} = ${e.values.map(([n]) => JSON.stringify(n)).join(" | ")};`);
  }
  out.push("");
  for (const m of [...model.messages.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    out.push(`export interface ${ident(m.name)} {`);
    for (const f of m.fields) out.push(`  ${f.name}?: ${tsType(f, model)};`);
    out.push("}");
  }
  return out.join("\n") + "\n";
}

export function emitFields(model: Model, header: string): string {
  const out = [
    header,
    'export type FieldKind = "string" | "bytes" | "bool" | "int32" | "int64" | "uint32" | "uint64" | "double" | "float" | "enum" | "message" | "json";',
    "",
    "export interface FieldInfo {",
    "  name: string;",
    "  /** lowerCamel JSON name; parse_dict accepts it beside the proto name. */",
    "  json: string;",
    "  kind: FieldKind;",
    "  repeated?: true;",
    "  map?: { key: FieldKind; value: FieldKind; ref?: string };",
    "  /** Full name of the message or enum type. */",
    "  ref?: string;",
    "  default?: string | number | boolean;",
    "  /** The proto's (validate_required) option. */",
    "  required?: true;",
    "}",
    "",
    "export const MESSAGES: Record<string, FieldInfo[]> = {",
  ];
  for (const m of [...model.messages.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    out.push(`  ${JSON.stringify(m.name)}: [`);
    for (const f of m.fields) {
      const info: Record<string, unknown> = { name: f.name, json: f.json, kind: f.kind };
      if (f.repeated) info.repeated = true;
      if (f.map) info.map = f.map;
      if (f.ref) info.ref = f.ref;
      if (f.default !== undefined) info.default = f.default;
      if (f.required) info.required = true;
      out.push(`    ${literal(info)},`);
    }
    out.push("  ],");
  }
  out.push("};", "", "/** Enum value numbers by name. */", "export const ENUMS: Record<string, Record<string, number>> = {");
  for (const e of [...model.enums.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    out.push(`  ${JSON.stringify(e.name)}: { ${e.values.map(([n, v]) => `${JSON.stringify(n)}: ${v}`).join(", ")} },`);
  }
  out.push("};");
  return out.join("\n") + "\n";
}
