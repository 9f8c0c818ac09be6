// The matching rules of MLflow's security middleware (mlflow/server/security_utils.py), and how
// each of the stacked CORS layers decides that an origin is allowed: Starlette's CORSMiddleware
// (exact names plus the localhost regex), MLflow's blocking (fnmatch, any localhost scheme) and
// Flask-CORS (regex-looking entries as case-insensitive regexes, others compared casefolded).
import { fnmatch } from "../python/fnmatch";
import { parseIp } from "../python/ipaddress";
import { hostname, urlsplit } from "../python/urllib";

export const INVALID_HOST_MSG = "Invalid Host header - possible DNS rebinding attack detected";
export const CORS_BLOCKED_MSG = "Cross-origin request blocked";

const STATE_CHANGING_METHODS = ["POST", "PUT", "DELETE", "PATCH"];
const CORS_LOCALHOST_HOSTS = ["localhost", "127.0.0.1", "[::1]", "::1"];
const PRIVATE_IPV6_PATTERNS = ["fc00:*", "fd00:*"];
const IPV4_PREFIX_GLOB = /^(?:[0-9]+\.)+\*(?:\.(?:[0-9]+|\*))*(?::[0-9*]+)?$/;
const LOCALHOST_ORIGIN_PATTERNS = [String.raw`^http://localhost(:[0-9]+)?$`, String.raw`^http://127\.0\.0\.1(:[0-9]+)?$`, String.raw`^http://\[::1\](:[0-9]+)?$`];
/** Starlette: allow_origin_regex="|".join(LOCALHOST_ORIGIN_PATTERNS), fullmatch. */
const STARLETTE_LOCALHOST = new RegExp(`^(?:${LOCALHOST_ORIGIN_PATTERNS.join("|")})$`);
/** Flask-CORS: each pattern compiled with IGNORECASE, re.match (anchored at the start only). */
const FLASK_LOCALHOST = LOCALHOST_ORIGIN_PATTERNS.map((p) => new RegExp(p, "i"));
/** Flask-CORS's probably_regex: a string with any of these is compiled as a regex. */
const REGEX_HINT = /[*\\\]?$^[()]/;

/** is_allowed_host_header */
export function isAllowedHost(allowedHosts: string[], host: string): boolean {
  if (!host) return false;
  if (allowedHosts.includes("*")) return true;
  return allowedHosts.some((allowed) => (allowed.includes("*") ? matchesHostPattern(host, allowed) : host === allowed));
}

/** _matches_host_pattern: an IP-shaped pattern (10.*) covers IP addresses only, not names like 10evil.com. */
function matchesHostPattern(host: string, pattern: string): boolean {
  if (!fnmatch(host, pattern)) return false;
  if (IPV4_PREFIX_GLOB.test(pattern)) return parseIp(host.split(":")[0]!)?.version === 4;
  if (PRIVATE_IPV6_PATTERNS.includes(pattern)) return !host.includes("%") && parseIp(host)?.version === 6;
  return true;
}

/** is_localhost_origin: urlparse(origin).hostname, any scheme. */
function isLocalhostOrigin(origin: string): boolean {
  try {
    const host = hostname(urlsplit(origin).netloc);
    return host !== null && CORS_LOCALHOST_HOSTS.includes(host);
  } catch {
    return false;
  }
}

/** should_block_cors_request */
export function shouldBlockCors(origin: string | null, method: string, allowedOrigins: string[]): boolean {
  if (!origin || !STATE_CHANGING_METHODS.includes(method)) return false;
  if (isLocalhostOrigin(origin)) return false;
  if (allowedOrigins.length) {
    if (allowedOrigins.includes("*")) return false;
    return !allowedOrigins.some((allowed) => (allowed.includes("*") ? fnmatch(origin, allowed) : origin === allowed));
  }
  return true;
}

export interface OriginPolicy {
  /** `*` among the allowed origins: credential-less CORS for everyone, no blocking. */
  wildcard: boolean;
  allowed: string[];
  starletteAllows(origin: string): boolean;
  flaskAllows(origin: string): boolean;
  /** Flask-CORS's non-regex origins, sorted: what it sends when a request has no Origin. */
  flaskLiterals: string[];
}

export function originPolicy(allowed: string[]): OriginPolicy {
  const wildcard = allowed.includes("*");
  const flaskPatterns = [...allowed, ...LOCALHOST_ORIGIN_PATTERNS].map((p) => {
    if (!REGEX_HINT.test(p)) return p;
    if (LOCALHOST_ORIGIN_PATTERNS.includes(p)) return FLASK_LOCALHOST[LOCALHOST_ORIGIN_PATTERNS.indexOf(p)]!;
    try {
      return new RegExp(`^(?:${p})`, "i");
    } catch {
      return /(?!)/; // Python compiles most of what JavaScript rejects differently; match nothing
    }
  });
  const literals = flaskPatterns.filter((p): p is string => typeof p === "string").sort();
  return {
    wildcard,
    allowed,
    starletteAllows: (origin) => wildcard || STARLETTE_LOCALHOST.test(origin) || allowed.includes(origin),
    flaskAllows: (origin) =>
      wildcard || flaskPatterns.some((p) => (typeof p === "string" ? p.toLowerCase() === origin.toLowerCase() : p.test(origin))),
    flaskLiterals: literals,
  };
}
