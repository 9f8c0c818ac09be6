// AWS Signature Version 4 for the S3 calls Bun.S3Client does not expose: the multipart upload
// API (create, complete, abort) and presigned UploadPart URLs, which MLflow hands to clients
// so they send the parts straight to the bucket.
import { createHash, createHmac } from "node:crypto";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
}

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters. */
export function awsEncode(s: string, keepSlash = false): string {
  let out = "";
  for (const byte of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

const canonicalQuery = (query: Record<string, string>) =>
  Object.keys(query)
    .sort()
    .map((k) => `${awsEncode(k)}=${awsEncode(query[k]!)}`)
    .join("&");

function signingKey(creds: S3Credentials, date: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, date), creds.region), "s3"), "aws4_request");
}

function timestamps(now: Date) {
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  return { amzDate, date: amzDate.slice(0, 8) };
}

/** A signed request (headers carry the signature) to `url`, e.g. POST ?uploads. */
export function signedRequest(
  creds: S3Credentials,
  method: string,
  url: URL,
  query: Record<string, string>,
  body: string = "",
  now = new Date(),
): Request {
  const { amzDate, date } = timestamps(now);
  const payloadHash = sha256(body);
  const headers: Record<string, string> = { host: url.host, "x-amz-content-sha256": payloadHash, "x-amz-date": amzDate };
  if (creds.sessionToken) headers["x-amz-security-token"] = creds.sessionToken;
  const names = Object.keys(headers).sort();
  const canonical = [
    method,
    url.pathname,
    canonicalQuery(query),
    names.map((n) => `${n}:${headers[n]}\n`).join(""),
    names.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${date}/${creds.region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  const signature = createHmac("sha256", signingKey(creds, date)).update(toSign).digest("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  const target = new URL(url);
  target.search = canonicalQuery(query);
  return new Request(target.toString(), { method, headers, body: body || undefined });
}

/** A presigned URL (query-string signature, unsigned payload), e.g. for PUT ?partNumber&uploadId. */
export function presignedUrl(
  creds: S3Credentials,
  method: string,
  url: URL,
  query: Record<string, string>,
  expiresIn: number,
  now = new Date(),
): string {
  const { amzDate, date } = timestamps(now);
  const scope = `${date}/${creds.region}/s3/aws4_request`;
  const q: Record<string, string> = {
    ...query,
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": `${creds.accessKeyId}/${scope}`,
    "X-Amz-Date": amzDate,
    "X-Amz-Expires": String(expiresIn),
    "X-Amz-SignedHeaders": "host",
  };
  if (creds.sessionToken) q["X-Amz-Security-Token"] = creds.sessionToken;
  const canonical = [method, url.pathname, canonicalQuery(q), `host:${url.host}\n`, "host", "UNSIGNED-PAYLOAD"].join("\n");
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  const signature = createHmac("sha256", signingKey(creds, date)).update(toSign).digest("hex");
  return `${url.origin}${url.pathname}?${canonicalQuery(q)}&X-Amz-Signature=${signature}`;
}
