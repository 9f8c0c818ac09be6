// Python 3.11's urllib.parse (urlsplit, urlparse, urlunsplit, unquote, and parse_qsl as Werkzeug
// calls it) and posixpath.normpath, which MLflow's URI rules (mlflow/utils/uri.py, host_policy.py,
// validation.py) and request.args are written against: artifact locations are accepted, rejected
// and resolved by what these return.
// Not search code, but the same kind of Python-compat primitive as python.ts.
import { PyError } from "./builtins";

export interface SplitResult {
  scheme: string;
  netloc: string;
  path: string;
  query: string;
  fragment: string;
}

export interface ParseResult extends SplitResult {
  params: string;
}

const SCHEME_CHARS = /^[a-zA-Z0-9+\-.]+$/;
const USES_PARAMS = new Set(["", "ftp", "hdl", "prospero", "http", "imap", "https", "shttp", "rtsp", "rtsps", "rtspu", "sip", "sips", "mms", "sftp", "tel"]);
const USES_NETLOC = new Set(["", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file", "mms", "https", "shttp", "snews", "prospero", "rtsp", "rtsps", "rtspu", "rsync", "svn", "svn+ssh", "sftp", "nfs", "git", "git+ssh", "ws", "wss"]);

export function urlsplit(input: string): SplitResult {
  let url = input.replace(/^[\x00-\x20]+/, "").replace(/[\t\r\n]/g, "");
  let scheme = "";
  let netloc = "";
  let query = "";
  let fragment = "";
  const i = url.indexOf(":");
  if (i > 0 && /^[a-zA-Z]/.test(url) && SCHEME_CHARS.test(url.slice(0, i))) {
    scheme = url.slice(0, i).toLowerCase();
    url = url.slice(i + 1);
  }
  if (url.startsWith("//")) {
    let end = url.length;
    for (const c of "/?#") {
      const at = url.indexOf(c, 2);
      if (at >= 0) end = Math.min(end, at);
    }
    netloc = url.slice(2, end);
    url = url.slice(end);
    if (netloc.includes("[") !== netloc.includes("]")) throw new PyError("ValueError", "Invalid IPv6 URL");
  }
  if (url.includes("#")) [url, fragment] = splitOnce(url, "#");
  if (url.includes("?")) [url, query] = splitOnce(url, "?");
  return { scheme, netloc, path: url, query, fragment };
}

function splitOnce(s: string, sep: string): [string, string] {
  const at = s.indexOf(sep);
  return [s.slice(0, at), s.slice(at + 1)];
}

export function urlparse(url: string): ParseResult {
  const r = urlsplit(url);
  let params = "";
  if (USES_PARAMS.has(r.scheme) && r.path.includes(";")) {
    // _splitparams: the last path segment's first ';'
    const at = r.path.includes("/") ? r.path.indexOf(";", r.path.lastIndexOf("/")) : r.path.indexOf(";");
    if (at >= 0) [r.path, params] = [r.path.slice(0, at), r.path.slice(at + 1)];
  }
  return { ...r, params };
}

export function urlunsplit({ scheme, netloc, path, query, fragment }: SplitResult): string {
  let url = path;
  if (netloc || (scheme && USES_NETLOC.has(scheme) && !url.startsWith("//"))) {
    if (url && !url.startsWith("/")) url = "/" + url;
    url = "//" + netloc + url;
  }
  if (scheme) url = scheme + ":" + url;
  if (query) url += "?" + query;
  if (fragment) url += "#" + fragment;
  return url;
}

export function urlunparse(p: ParseResult): string {
  return urlunsplit({ ...p, path: p.params ? `${p.path};${p.params}` : p.path });
}

/** The host part of a netloc, as ParseResult._hostinfo splits it. */
function hostinfo(netloc: string): [string, string | null] {
  const info = netloc.slice(netloc.lastIndexOf("@") + 1);
  const open = info.indexOf("[");
  let host: string;
  let port: string;
  if (open >= 0) {
    const bracketed = info.slice(open + 1);
    const close = bracketed.indexOf("]");
    host = close >= 0 ? bracketed.slice(0, close) : bracketed;
    const rest = close >= 0 ? bracketed.slice(close + 1) : "";
    port = rest.includes(":") ? rest.slice(rest.indexOf(":") + 1) : "";
  } else {
    const colon = info.indexOf(":");
    [host, port] = colon >= 0 ? [info.slice(0, colon), info.slice(colon + 1)] : [info, ""];
  }
  return [host, port || null];
}

/** ParseResult.hostname: lower-cased (except an IPv6 zone), or null. */
export function hostname(netloc: string): string | null {
  const [host] = hostinfo(netloc);
  if (!host) return null;
  const pct = host.indexOf("%");
  return pct >= 0 ? host.slice(0, pct).toLowerCase() + host.slice(pct) : host.toLowerCase();
}

/** ParseResult.port; PyError(ValueError) where Python raises. */
export function port(netloc: string): number | null {
  const [, p] = hostinfo(netloc);
  if (p === null) return null;
  if (!/^[0-9]+$/.test(p)) throw new PyError("ValueError", `Port could not be cast to integer value as '${p}'`);
  const n = Number(p);
  if (n > 65535) throw new PyError("ValueError", "Port out of range 0-65535");
  return n;
}

/** urllib.parse.unquote: %XX runs decoded as UTF-8, invalid bytes replaced. */
export function unquote(s: string): string {
  if (!s.includes("%")) return s;
  return s.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
    return new TextDecoder("utf-8").decode(bytes);
  });
}

/** posixpath.normpath */
export function normpath(path: string): string {
  if (path === "") return ".";
  let initial = path.startsWith("/") ? 1 : 0;
  if (initial && path.startsWith("//") && !path.startsWith("///")) initial = 2;
  const out: string[] = [];
  for (const comp of path.split("/")) {
    if (comp === "" || comp === ".") continue;
    if (comp !== ".." || (!initial && out.length === 0) || (out.length > 0 && out[out.length - 1] === "..")) out.push(comp);
    else if (out.length > 0) out.pop();
  }
  return "/".repeat(initial) + out.join("/") || ".";
}

/** A query string's parameters as Werkzeug's request.args holds them (a multi-dict). */
export class QueryArgs {
  private readonly values = new Map<string, string[]>();
  constructor(pairs: [string, string][]) {
    for (const [k, v] of pairs) {
      const list = this.values.get(k);
      if (list) list.push(v);
      else this.values.set(k, [v]);
    }
  }
  get size(): number {
    return this.values.size;
  }
  has(name: string): boolean {
    return this.values.has(name);
  }
  get(name: string): string | null {
    return this.values.get(name)?.[0] ?? null;
  }
  getAll(name: string): string[] {
    return this.values.get(name) ?? [];
  }
}

/**
 * parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote"): like URLSearchParams,
 * except that percent-escapes which are not UTF-8 stay percent-encoded (upper case) instead of
 * becoming U+FFFD, so `?name=%ff` looks for "%FF" as MLflow does.
 */
export function queryArgs(url: URL): QueryArgs {
  const pairs: [string, string][] = [];
  for (const part of url.search.slice(1).split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const [k, v] = eq < 0 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)];
    pairs.push([unquotePlus(k), unquotePlus(v)]);
  }
  return new QueryArgs(pairs);
}

const hex = (b: number) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`;

function unquotePlus(s: string): string {
  const text = s.replaceAll("+", " ");
  if (!text.includes("%")) return text; // a URL's query is ASCII: nothing to decode
  try {
    return decodeURIComponent(text); // well-formed UTF-8 escapes, the usual case
  } catch {
    // a malformed escape or invalid UTF-8: byte by byte, as Python unquotes
  }
  const bytes: number[] = [];
  for (let i = 0; i < text.length; ) {
    if (text[i] === "%" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      bytes.push(...Buffer.from(ch, "utf8"));
      i += ch.length;
    }
  }
  return decodeUtf8Quoting(Uint8Array.from(bytes));
}

/** UTF-8 decoding whose invalid bytes come out as %XX (Werkzeug's "werkzeug.url_quote" handler). */
function decodeUtf8Quoting(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const n = utf8SequenceLength(bytes, i);
    if (n === 0) out += hex(bytes[i++]!);
    else out += Buffer.from(bytes.subarray(i, (i += n))).toString("utf8");
  }
  return out;
}

/** The length of the well-formed UTF-8 sequence at `i` (RFC 3629 table), or 0. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  const cont = (j: number, lo = 0x80, hi = 0xbf) => i + j < b.length && b[i + j]! >= lo && b[i + j]! <= hi;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const [lo, hi] = c === 0xe0 ? [0xa0, 0xbf] : c === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const [lo, hi] = c === 0xf0 ? [0x90, 0xbf] : c === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
