// Request parsing as handlers.py's _get_request_message does it, driven by the generated
// field tables: GET query strings or JSON bodies, then protobuf's ParseDict rules
// (ignore unknown fields, int64 from numbers or strings, enums by name or number).
import { MlflowError } from "../errors";
import { jsonLoads, PyDict, type PyValue } from "../python/builtins";
import { ENUMS, MESSAGES, type FieldInfo } from "../generated/fields";
import { markPresent, type RequestContext } from "../services/context";
import { queryArgs, type QueryArgs } from "../python/urllib";

class ParseError extends Error {}

export interface Parsed {
  message: Record<string, unknown>;
  ctx: RequestContext;
}

/** Parses `request` into the message named `type`; path parameters fill same-named fields. */
export async function parseRequest(request: Request, type: string, url: URL, pathParams: Record<string, string> = {}): Promise<Parsed> {
  const fields = MESSAGES[type]!;
  let body: unknown;
  const args = request.method === "GET" ? queryArgs(url) : undefined;
  // `flask_request.args` is truthy: at least one parameter, not merely a "?".
  const json = args?.size
    ? fromQuery(args, fields)
    : await fromBody(request, (decoded) => (body = decoded));
  rejectConflictingAliases(json, type);
  const message: Record<string, unknown> = {};
  let parsed = true;
  try {
    convertMessage(json, type, message);
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    parsed = false; // like Python, keep what was set before the error; handler schemas decide
  }
  for (const [name, value] of Object.entries(pathParams)) {
    if (fields.some((f) => f.name === name)) message[name] = value;
  }
  fillDefaults(message, type);
  return { message, ctx: { json, parsed, request, body } };
}

function fromQuery(params: QueryArgs, fields: FieldInfo[]): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const f of fields) {
    if (!params.has(f.name)) continue;
    if (f.repeated) {
      json[f.name] = params.getAll(f.name);
      continue;
    }
    let value: unknown = params.get(f.name);
    if (f.kind === "bool") {
      const lower = String(value).toLowerCase();
      if (lower !== "true" && lower !== "false") {
        throw MlflowError.invalid(`Invalid boolean value: ${value}, must be 'true' or 'false'.`);
      }
      value = lower === "true";
    }
    json[f.name] = value;
  }
  return json;
}


/**
 * API bodies are parsed whole, so they have a cap; Bun's own limit is off (see main.ts) because
 * artifact uploads stream and MLflow puts no limit on them.
 */
export const MAX_API_BODY_BYTES = 1024 ** 3;

const tooLarge = () => MlflowError.invalid(`Request body exceeds the limit of ${MAX_API_BODY_BYTES} bytes.`);

/**
 * Deeper JSON than this is refused with a 400. Python's json module gives up near its recursion
 * limit (1000 frames: RecursionError, Flask's HTML 500), so nothing MLflow accepts is lost, and
 * the recursive walks after parsing (json.loads' Python-literal fallback, the message
 * conversion) stay far from the JavaScript stack's limit.
 */
export const MAX_JSON_DEPTH = 1000;

async function boundedBytes(request: Request): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    // HTTP framing reads exactly the declared length, so the native reader is safe here.
    if (Number(declared) > MAX_API_BODY_BYTES) throw tooLarge();
    return new Uint8Array(await request.arrayBuffer());
  }
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > MAX_API_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The body, or a 400 when the client goes away before sending it all (Werkzeug's
 * ClientDisconnected is a 400 too); nobody reads that answer, but it is no server error.
 */
async function readBody(request: Request): Promise<Uint8Array> {
  try {
    return await boundedBytes(request);
  } catch (e) {
    if (e instanceof MlflowError) throw e;
    throw new MlflowError(`The request body could not be read: ${(e as Error)?.message ?? e}`, "BAD_REQUEST");
  }
}

/** The deepest nesting of [ and { outside strings, stopping once past `limit`. */
function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

function parseJson(text: string): unknown {
  if (nestingDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw MlflowError.invalid(`Malformed request body: JSON nested deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  return JSON.parse(text);
}

async function fromBody(request: Request, decoded: (body: unknown) => void): Promise<Record<string, unknown>> {
  if (request.method === "POST" || request.method === "PUT") {
    const contentType = request.headers.get("content-type");
    if (contentType === null) throw MlflowError.invalid("Bad Request. Content-Type header is missing.");
    // Compared as Flask does: the part before ";", exactly (so "Application/JSON" is refused).
    if (contentType.split(";")[0] !== "application/json") {
      throw MlflowError.invalid("Bad Request. Content-Type must be one of ['application/json'].");
    }
  }
  // get_json(force=True, silent=True): a missing or malformed body is {}, and so is one that is
  // not UTF-8 (json.loads of the bytes raises UnicodeDecodeError, a ValueError).
  const bytes = await readBody(request);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes); // strips a UTF-8 BOM, as json.loads does
  } catch {
    return {};
  }
  let body: unknown;
  try {
    body = parseJson(text);
  } catch (e) {
    if (e instanceof MlflowError) throw e;
    // Python's json.loads also reads the NaN, Infinity and -Infinity literals; that is its only
    // extension, so the (slower) Python reader runs only when one may be there.
    if (!/NaN|Infinity/.test(text)) return {};
    const loaded = jsonLoads(new TextEncoder().encode(text));
    if (loaded === undefined) return {};
    body = fromPython(loaded);
  }
  decoded(body);
  // Older clients double-encode: a JSON string holding the JSON.
  if (typeof body === "string") {
    try {
      body = parseJson(body);
    } catch (e) {
      if (e instanceof MlflowError) throw e;
      throw MlflowError.invalid("Malformed request body: a JSON string that is not JSON.");
    }
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) return {};
  return body as Record<string, unknown>;
}

/** A json.loads value as JSON.parse would have given it (ints beyond 2^53 lose precision alike). */
function fromPython(v: PyValue): unknown {
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(fromPython);
  if (v instanceof PyDict) return Object.fromEntries(v.entries.map(([k, x]) => [String(k), fromPython(x)]));
  return v;
}

function rejectConflictingAliases(json: unknown, type: string): void {
  if (!json || typeof json !== "object" || Array.isArray(json)) return;
  const obj = json as Record<string, unknown>;
  for (const f of MESSAGES[type] ?? []) {
    if (f.name !== f.json && f.name in obj && f.json in obj) {
      throw MlflowError.invalid(`Request specifies both '${f.name}' and '${f.json}'; provide only one of them.`);
    }
    if (f.kind !== "message" || f.map || !f.ref || !MESSAGES[f.ref]) continue;
    const value = obj[f.name] ?? obj[f.json];
    for (const item of Array.isArray(value) ? value : [value]) rejectConflictingAliases(item, f.ref);
  }
}

function convertMessage(json: unknown, type: string, out: Record<string, unknown>): void {
  if (typeof json === "string") return; // Python iterates its characters as (unknown) keys
  if (!json || typeof json !== "object" || Array.isArray(json)) throw new ParseError(`not an object`);
  const fields = MESSAGES[type]!;
  for (const [key, value] of Object.entries(json)) {
    const f = fields.find((x) => x.json === key) ?? fields.find((x) => x.name === key);
    if (!f) continue; // ignore_unknown_fields
    if (value === null) {
      delete out[f.name];
      continue;
    }
    if (f.map) {
      if (typeof value !== "object" || Array.isArray(value)) throw new ParseError(`map field ${key}`);
      const map: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) map[k] = convertValue(f.map.value, f.map.ref, v);
      out[f.name] = map;
    } else if (f.repeated) {
      if (!Array.isArray(value)) throw new ParseError(`repeated field ${key} must be in []`);
      // Items go in before they are converted: on a ParseError, Python keeps the items (and
      // the fields of the item) parsed so far.
      const items: unknown[] = [];
      out[f.name] = items;
      for (const item of value) {
        if (item === null) throw new ParseError("null is not allowed to be used as an element in a repeated field");
        if (f.kind === "message") {
          const msg: Record<string, unknown> = {};
          items.push(msg);
          convertMessage(item, f.ref!, msg);
          continue;
        }
        const converted = convertValue(f.kind, f.ref, item);
        if (converted !== SKIP) items.push(converted);
      }
    } else if (f.kind === "message") {
      const msg: Record<string, unknown> = {};
      out[f.name] = msg;
      convertMessage(value, f.ref!, msg);
    } else {
      const converted = convertValue(f.kind, f.ref, value);
      if (converted !== SKIP) out[f.name] = converted;
    }
  }
}

const SKIP = Symbol("unknown enum name: ignored");

function convertValue(kind: string, ref: string | undefined, value: unknown): unknown {
  switch (kind) {
    case "string":
    case "bytes":
      if (typeof value !== "string") throw new ParseError("expected string");
      return value;
    case "bool":
      if (typeof value !== "boolean") throw new ParseError("Expected true or false without quotes");
      return value;
    case "int32": case "uint32": case "int64": case "uint64": {
      const n = toInteger(value);
      if (kind === "int32" && (n < -(2 ** 31) || n >= 2 ** 31)) throw new ParseError("int32 out of range");
      if (kind === "uint32" && (n < 0 || n >= 2 ** 32)) throw new ParseError("uint32 out of range");
      if (kind === "uint64" && (n < 0 || n >= 2 ** 64)) throw new ParseError("uint64 out of range");
      if (kind === "int64" && (n < -(2 ** 63) || n >= 2 ** 63)) throw new ParseError("int64 out of range");
      return n;
    }
    case "double": case "float":
      return toDouble(value);
    case "enum": {
      const values = ENUMS[ref!]!;
      if (typeof value === "string" && value in values) return value;
      let n: number;
      try {
        n = toInteger(value);
      } catch {
        if (typeof value === "string") return SKIP; // unknown names are ignored with ignore_unknown_fields
        throw new ParseError("Invalid enum value");
      }
      const name = Object.keys(values).find((k) => values[k] === n);
      if (name === undefined) throw new ParseError(`Invalid enum value ${value} for enum type ${ref}`);
      return name;
    }
    case "message": { // map values
      const msg: Record<string, unknown> = {};
      convertMessage(value, ref!, msg);
      return msg;
    }
    case "json":
      return value; // Struct/Value/Timestamp/...: kept as the JSON they were sent as
  }
  throw new ParseError(`unsupported field kind ${kind}`);
}

/** A decimal number as Python's float() reads it (no hex, no empty string). */
const PY_FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/** protobuf's _ConvertInteger, with Python's int() and float() rules for strings. */
function toInteger(value: unknown): number {
  if (typeof value === "boolean") throw new ParseError("Bool value is not acceptable for integer field");
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new ParseError(`Couldn't parse integer: ${value}`);
    return value;
  }
  if (typeof value !== "string" || value.includes(" ")) throw new ParseError(`Couldn't parse integer: ${value}`);
  const text = value.trim().replace(/(\d)_(?=\d)/g, "$1"); // Python allows 1_000
  if (/^[-+]?\d+$/.test(text)) return Number(text);
  // int() failed: protobuf retries float(), and takes it when it is integral.
  if (PY_FLOAT.test(text) && Number.isInteger(Number(text))) return Number(text);
  throw new ParseError(`Couldn't parse integer: "${value}"`);
}

function toDouble(value: unknown): number {
  // Only a body with Python's bare NaN/Infinity literals has these; protobuf wants them quoted.
  if (typeof value === "number" && !Number.isFinite(value)) throw new ParseError("Couldn't parse NaN or Infinity, use quoted strings");
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value !== "string" || value === "nan") throw new ParseError(`Couldn't parse float: ${value}`);
  const text = value.trim().toLowerCase();
  if (text === "nan" || text === "+nan" || text === "-nan") return NaN;
  if (text === "inf" || text === "+inf" || text === "infinity" || text === "+infinity") return Infinity;
  if (text === "-inf" || text === "-infinity") return -Infinity;
  const plain = text.replace(/(\d)_(?=\d)/g, "$1");
  if (!PY_FLOAT.test(plain)) throw new ParseError(`Couldn't parse float: ${value}`);
  return Number(plain);
}

/** What Python's message getters return for unset fields: proto2 defaults, [] and {} — through nested messages. */
function fillDefaults(message: Record<string, unknown>, type: string): void {
  markPresent(message);
  for (const f of MESSAGES[type]!) {
    const value = message[f.name];
    if (f.name in message) {
      if (f.kind !== "message" || !f.ref || !MESSAGES[f.ref]) continue;
      if (f.map) for (const v of Object.values(value as object)) fillDefaults(v as Record<string, unknown>, f.ref);
      else for (const v of f.repeated ? (value as unknown[]) : [value]) fillDefaults(v as Record<string, unknown>, f.ref);
      continue;
    }
    if (f.repeated) message[f.name] = [];
    else if (f.map) message[f.name] = {};
    else if (f.default !== undefined) message[f.name] = f.default;
    else if (f.kind === "string" || f.kind === "bytes") message[f.name] = "";
    else if (f.kind === "bool") message[f.name] = false;
    else if (f.kind === "enum") message[f.name] = Object.keys(ENUMS[f.ref!]!)[0];
    else if (f.kind !== "message" && f.kind !== "json") message[f.name] = 0;
  }
}
