// The webhook POST as MLflow's delivery session sends it (mlflow/webhooks/delivery.py,
// ssrf.py): a requests.Session with trust_env off (no proxies from the environment), an
// SSRFProtectedHTTPAdapter (the peer of every connection must be a public IP unless
// MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS) and urllib3's Retry(total=N, status_forcelist=[429, 500,
// 502, 503, 504], allowed_methods=["POST"], backoff_factor=1, backoff_jitter=1, backoff_max=60,
// respect_retry_after_header) per request; requests follows redirects (up to 30, 301/302/303
// turning the POST into a body-less GET).
//
// Written on node:net/node:tls rather than fetch so the peer check is MLflow's: the socket is
// connected to an address we resolved, checked before a byte is sent (before the TLS handshake),
// with no second DNS lookup in between, and no proxy can stand in for the destination.
import { lookup } from "node:dns/promises";
import * as net from "node:net";
import * as tls from "node:tls";
import { isPublicIp, parseIp } from "../python/ipaddress";
import { pyStrRepr } from "../python/builtins";

export interface SendOptions {
  timeoutMs: number;
  maxRetries: number;
  allowPrivateIps: boolean;
}

export interface WebhookResponse {
  status: number;
  headers: Map<string, string>;
}

/** ssrf.SSRFProtectionError: never retried, the delivery fails closed. */
export class SsrfProtectionError extends Error {}

class ConnectError extends Error {}
class ReadError extends Error {}

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const RETRY_AFTER_STATUSES = new Set([413, 429, 503]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 30;
const RETRY_AFTER_MAX_S = 21600;

/** Session.post(url, data=body, headers=headers, timeout=timeout), redirects and retries included. */
export async function postWebhook(url: string, body: Uint8Array, headers: [string, string][], options: SendOptions): Promise<WebhookResponse> {
  let target = new URL(url);
  let method = "POST";
  let payload: Uint8Array | undefined = body;
  let sent = headers;
  const auth = basicAuth(target);
  if (auth) sent = [...sent, ["Authorization", auth]];
  for (let hop = 0; ; hop++) {
    const response = await withRetries(target, method, sent, payload, options);
    const location = response.headers.get("location");
    if (!REDIRECTS.has(response.status) || location === undefined) return response;
    if (hop >= MAX_REDIRECTS) throw new Error(`Exceeded ${MAX_REDIRECTS} redirects.`);
    const next = new URL(location, target);
    // requests' rebuild_method and the purge of body headers for anything but 307/308
    if (response.status === 303 || response.status === 302 || (response.status === 301 && method === "POST")) method = "GET";
    if (response.status !== 307 && response.status !== 308) {
      payload = undefined;
      sent = sent.filter(([k]) => !["content-type", "content-length", "transfer-encoding"].includes(k.toLowerCase()));
    }
    if (stripsAuth(target, next)) sent = sent.filter(([k]) => k.toLowerCase() !== "authorization");
    target = next;
  }
}

/** urllib3's urlopen loop with the delivery session's Retry. */
async function withRetries(
  url: URL, method: string, headers: [string, string][], body: Uint8Array | undefined, options: SendOptions,
): Promise<WebhookResponse> {
  let remaining = options.maxRetries;
  let errors = 0; // consecutive entries in Retry.history: the backoff's exponent
  for (;;) {
    let response: WebhookResponse;
    try {
      response = await sendOnce(url, method, headers, body, options);
    } catch (e) {
      // read errors count only for allowed_methods (POST); connection errors always
      if (e instanceof SsrfProtectionError || (e instanceof ReadError && method !== "POST")) throw e;
      if (--remaining < 0) throw new Error(`Max retries exceeded with url: ${url.pathname}${url.search} (Caused by ${(e as Error).message})`);
      errors++;
      await sleep(backoff(errors));
      continue;
    }
    const retryAfterHeader = response.headers.get("retry-after");
    const retryable = method === "POST" &&
      (RETRY_STATUSES.has(response.status) || (remaining > 0 && !!retryAfterHeader && RETRY_AFTER_STATUSES.has(response.status)));
    if (!retryable) return response;
    if (--remaining < 0) return response; // raise_on_status=False: the last answer stands
    errors++;
    const retryAfter = retryAfterHeader === undefined ? 0 : parseRetryAfter(retryAfterHeader);
    await sleep(retryAfter > 0 ? retryAfter : backoff(errors));
  }
}

/** Retry.get_backoff_time: nothing before the first retry, then 2 s, 4 s, ... plus up to 1 s of jitter, at most 60 s. */
function backoff(consecutiveErrors: number): number {
  if (consecutiveErrors <= 1) return 0;
  return Math.min(60, 2 ** (consecutiveErrors - 1) + Math.random());
}

/** Retry.parse_retry_after: seconds, or an HTTP date; anything else fails the delivery. */
function parseRetryAfter(value: string): number {
  let seconds: number;
  if (/^\s*[0-9]+\s*$/.test(value)) seconds = Number(value.trim());
  else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) throw new Error(`Invalid Retry-After header: ${value}`);
    seconds = (at - Date.now()) / 1000;
  }
  return Math.min(Math.max(seconds, 0), RETRY_AFTER_MAX_S);
}

const sleep = (seconds: number) => (seconds > 0 ? new Promise((r) => setTimeout(r, seconds * 1000)) : Promise.resolve());

function basicAuth(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  const text = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return `Basic ${Buffer.from(text, "latin1").toString("base64")}`;
}

/** Session.should_strip_auth: another host, or another scheme/port except http:80 → https:443. */
function stripsAuth(from: URL, to: URL): boolean {
  if (from.hostname !== to.hostname) return true;
  if (from.protocol === "http:" && to.protocol === "https:" && (from.port || "80") === "80" && (to.port || "443") === "443") return false;
  return from.protocol !== to.protocol || from.port !== to.port;
}

// ---- one request on one connection ---------------------------------------------------------------

async function sendOnce(url: URL, method: string, headers: [string, string][], body: Uint8Array | undefined, options: SendOptions): Promise<WebhookResponse> {
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`No connection adapters were found for ${pyStrRepr(url.href)}`);
  const socket = await connect(url, options);
  const lines = [`${method} ${url.pathname || "/"}${url.search} HTTP/1.1`, `Host: ${url.host}`, "User-Agent: mlflow-bun", "Accept: */*", "Connection: close"];
  for (const [k, v] of headers) if (k.toLowerCase() !== "content-length") lines.push(`${k}: ${v}`);
  if (body !== undefined) lines.push(`Content-Length: ${body.byteLength}`);
  return exchange(socket, Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), body ?? new Uint8Array()]), options.timeoutMs);
}

/** urllib3's create_connection over the resolved addresses, each peer checked as _assert_public_peer does. */
async function connect(url: URL, options: SendOptions): Promise<net.Socket> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true });
  } catch (e) {
    throw new ConnectError(`Failed to resolve '${host}' (${(e as Error).message})`);
  }
  let lastError: unknown = new ConnectError(`getaddrinfo returns an empty list for '${host}'`);
  for (const { address } of addresses) {
    let raw: net.Socket;
    try {
      raw = await tcp(address, port, options.timeoutMs);
    } catch (e) {
      lastError = e;
      continue;
    }
    if (!options.allowPrivateIps) {
      const peer = raw.remoteAddress ?? "";
      const ip = parseIp(peer);
      if (!ip || !isPublicIp(ip)) {
        raw.destroy();
        throw new SsrfProtectionError(
          ip ? `Webhook connection blocked: ${peer} is not a public IP address. This may indicate a DNS rebinding attempt.`
            : `Webhook connection resolved to an invalid IP address: ${pyStrRepr(peer)}`,
        );
      }
    }
    if (url.protocol === "http:") return raw;
    return tlsOver(raw, parseIp(host) ? undefined : host, options.timeoutMs);
  }
  throw lastError;
}

function tcp(address: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new ConnectError(`Connection to ${address} timed out. (connect timeout=${timeoutMs / 1000})`));
    });
    socket.once("error", (e) => reject(new ConnectError(`Failed to establish a new connection: ${e.message}`)));
    socket.once("connect", () => {
      socket.setTimeout(0);
      socket.removeAllListeners("error");
      resolve(socket);
    });
  });
}

function tlsOver(raw: net.Socket, servername: string | undefined, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ socket: raw, servername, ALPNProtocols: ["http/1.1"] });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new ConnectError(`TLS handshake timed out. (connect timeout=${timeoutMs / 1000})`));
    });
    socket.once("error", (e) => {
      raw.destroy();
      reject(new ConnectError(e.message));
    });
    socket.once("secureConnect", () => {
      socket.setTimeout(0);
      socket.removeAllListeners("error");
      resolve(socket);
    });
  });
}

/**
 * Writes the request and reads the answer: the status and headers (1xx interim answers skipped),
 * then the body, discarded, up to its end (Content-Length, the last chunk, or the close).
 */
function exchange(socket: net.Socket, request: Buffer, timeoutMs: number): Promise<WebhookResponse> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    let response: WebhookResponse | undefined;
    let bodyLeft = -1; // bytes of body still expected; -1: until the close; -2: chunked
    const done = (error?: Error) => {
      socket.destroy();
      if (error) reject(error);
      else if (response) resolve(response);
      else reject(new ReadError("Remote end closed connection without response"));
    };
    socket.setTimeout(timeoutMs, () => done(new ReadError(`Read timed out. (read timeout=${timeoutMs / 1000})`)));
    socket.on("error", (e) => done(response ? undefined : new ReadError(`Connection aborted: ${e.message}`)));
    socket.on("end", () => done());
    socket.on("close", () => done());
    socket.on("data", (chunk: Buffer) => {
      if (response) return bodyProgress(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) {
          if (buffer.length > 65536 * 4) done(new ReadError("got more than 65536 bytes when reading header line"));
          return;
        }
        const head = parseHead(buffer.subarray(0, end).toString("latin1"));
        buffer = buffer.subarray(end + 4);
        if (!head) return done(new ReadError("BadStatusLine"));
        if (head.status >= 100 && head.status < 200 && head.status !== 101) continue;
        response = head;
        const length = head.headers.get("content-length");
        if (head.status === 204 || head.status === 304) bodyLeft = 0;
        else if (/chunked/i.test(head.headers.get("transfer-encoding") ?? "")) bodyLeft = -2;
        else if (length !== undefined && /^\s*\d+\s*$/.test(length)) bodyLeft = Number(length);
        return bodyProgress(buffer);
      }
    });
    let tail = "";
    const bodyProgress = (chunk: Buffer) => {
      if (bodyLeft >= 0) {
        bodyLeft -= chunk.length;
        if (bodyLeft <= 0) done();
      } else if (bodyLeft === -2) {
        tail = (tail + chunk.toString("latin1")).slice(-7);
        if (tail.endsWith("0\r\n\r\n") && (tail.length < 7 || tail.endsWith("\r\n0\r\n\r\n"))) done();
      }
    };
    socket.write(request);
  });
}

function parseHead(text: string): WebhookResponse | undefined {
  const [statusLine, ...lines] = text.split("\r\n");
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})(?: |$)/.exec(statusLine ?? "");
  if (!m) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { status: Number(m[1]), headers };
}
