// S3ArtifactRepository (store/artifact/s3_artifact_repo.py) on Bun's built-in S3 client: an
// s3://bucket/prefix root, credentials and endpoint from the environment variables boto3 and
// MLflow read (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_DEFAULT_REGION,
// MLFLOW_S3_ENDPOINT_URL, MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE). Bodies stream both ways.
import { S3Client } from "bun";
import { MlflowError } from "../../errors";
import { urlparse } from "../../python/urllib";
import { posixJoin } from "./paths";
import { awsEncode, presignedUrl, signedRequest, type S3Credentials } from "./sigv4";
import type { ArtifactFile, ArtifactStore, FileInfo, MultipartPart, MultipartStore } from "./types";
import { codePointCompare } from "./local";

/** MLflow's default presigned URL lifetime for multipart parts (boto's default, 1 hour). */
const PRESIGN_SECONDS = 3600;
const PART_SIZE = 10 * 1024 * 1024; // MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE's default

export class S3ArtifactStore implements ArtifactStore {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly creds: S3Credentials;
  private readonly endpoint: string;
  private readonly virtualHosted: boolean;
  readonly multipart: MultipartStore;

  constructor(uri: string, env: Record<string, string | undefined> = process.env) {
    const parsed = urlparse(uri); // parse_s3_compliant_uri
    this.bucket = parsed.netloc;
    this.prefix = parsed.path.replace(/^\/+/, "");
    this.creds = {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? "",
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "",
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
      region: env.AWS_DEFAULT_REGION || env.AWS_REGION || "us-east-1",
    };
    this.endpoint = (env.MLFLOW_S3_ENDPOINT_URL || `https://s3.${this.creds.region}.amazonaws.com`).replace(/\/+$/, "");
    this.virtualHosted = env.MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE === "virtual";
    this.client = new S3Client({
      ...this.creds,
      endpoint: this.endpoint,
      bucket: this.bucket,
      virtualHostedStyle: this.virtualHosted,
    });
    this.multipart = {
      createMultipartUpload: (dir, name, numParts) => this.createMultipartUpload(this.keyOf(dir, name), numParts),
      completeMultipartUpload: (dir, name, uploadId, parts) => this.completeMultipartUpload(this.keyOf(dir, name), uploadId, parts),
      abortMultipartUpload: (dir, name, uploadId) => this.abortMultipartUpload(this.keyOf(dir, name), uploadId),
    };
  }

  private keyOf(dir: string | undefined, name: string): string {
    return posixJoin(dir ? posixJoin(this.prefix, dir) : this.prefix, name);
  }

  private keyFor(path: string | undefined): string {
    return path ? posixJoin(this.prefix, path) : this.prefix;
  }

  async list(path?: string): Promise<FileInfo[]> {
    const dest = this.keyFor(path).replace(/\/+$/, "");
    const listPrefix = dest ? `${dest}/` : "";
    const infos: FileInfo[] = [];
    for await (const page of this.pages(listPrefix, "/")) {
      for (const p of page.commonPrefixes ?? []) {
        infos.push({ path: this.relative(p.prefix).replace(/\/$/, ""), is_dir: true });
      }
      for (const obj of page.contents ?? []) {
        const size = Number(obj.size ?? 0);
        if (size === 0 && obj.key.endsWith("/")) continue; // a directory marker
        infos.push(size ? { path: this.relative(obj.key), is_dir: false, file_size: size } : { path: this.relative(obj.key), is_dir: false });
      }
    }
    return infos.sort((a, b) => codePointCompare(a.path, b.path));
  }

  /** posixpath.relpath(key, prefix), guarded as _verify_listed_object_contains_artifact_path_prefix. */
  private relative(key: string): string {
    if (!key.startsWith(this.prefix)) {
      throw new MlflowError(
        `The path of the listed S3 object does not begin with the specified artifact path. Artifact path: ${this.prefix}. Object path: ${key}.`,
        "INTERNAL_ERROR",
      );
    }
    return this.prefix ? key.slice(this.prefix.replace(/\/+$/, "").length + 1) : key;
  }

  private async *pages(prefix: string, delimiter?: string) {
    let continuationToken: string | undefined;
    do {
      const page = await this.call(() => this.client.list({ prefix, delimiter, continuationToken }));
      yield page;
      continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (continuationToken);
  }

  async read(path: string): Promise<ArtifactFile | "missing" | "directory"> {
    const file = this.client.file(this.keyFor(path));
    let stat;
    try {
      stat = await file.stat();
    } catch (e) {
      if (!isNotFound(e)) throw s3Error(e);
      return (await this.list(path)).length ? "directory" : "missing";
    }
    return { stream: () => file.stream(), size: stat.size, lastModified: stat.lastModified?.getTime(), etag: stat.etag };
  }

  async write(dir: string | undefined, fileName: string, body: ReadableStream<Uint8Array> | null): Promise<void> {
    const key = this.keyOf(dir, fileName.split("/").pop()!);
    const writer = this.client.file(key).writer({ partSize: PART_SIZE, queueSize: 2, retry: 3 });
    try {
      if (body) {
        for await (const chunk of body) await writer.write(chunk); // Bun sends parts as they fill
      }
      await writer.end();
    } catch (e) {
      await Promise.resolve(writer.end(e as Error)).catch(() => {});
      throw s3Error(e);
    }
  }

  async delete(path?: string): Promise<void> {
    const dest = this.keyFor(path).replace(/\/+$/, "");
    const keys: string[] = [];
    for await (const page of this.pages(dest)) {
      for (const obj of page.contents ?? []) {
        // a prefix listing also returns siblings ("foobar" for "foo"): keep the path's own keys
        if (!dest || obj.key === dest || obj.key.startsWith(`${dest}/`)) keys.push(obj.key);
      }
    }
    for (const key of keys) await this.call(() => this.client.delete(key));
  }

  private objectUrl(key: string): URL {
    const base = new URL(this.endpoint);
    if (this.virtualHosted) return new URL(`${base.protocol}//${this.bucket}.${base.host}/${awsEncode(key, true)}`);
    return new URL(`${this.endpoint}/${this.bucket}/${awsEncode(key, true)}`);
  }

  private async send(method: string, key: string, query: Record<string, string>, body = ""): Promise<string> {
    const res = await fetch(signedRequest(this.creds, method, this.objectUrl(key), query, body));
    const text = await res.text();
    // CompleteMultipartUpload can fail with an <Error> inside a 200
    if (!res.ok || text.includes("<Error>")) {
      throw new MlflowError(`S3 ${method} ${key} failed (${res.status}): ${xmlValue(text, "Message") ?? text}`, "INTERNAL_ERROR");
    }
    return text;
  }

  private async createMultipartUpload(key: string, numParts: number) {
    const uploadId = xmlValue(await this.send("POST", key, { uploads: "" }), "UploadId");
    if (!uploadId) throw new MlflowError(`S3 did not return an UploadId for ${key}`, "INTERNAL_ERROR");
    const credentials = [];
    for (let i = 1; i <= numParts; i++) {
      const query = { partNumber: String(i), uploadId };
      credentials.push({ url: presignedUrl(this.creds, "PUT", this.objectUrl(key), query, PRESIGN_SECONDS), part_number: i, headers: {} });
    }
    return { upload_id: uploadId, credentials };
  }

  private async completeMultipartUpload(key: string, uploadId: string, parts: MultipartPart[]) {
    const body =
      "<CompleteMultipartUpload>" +
      parts.map((p) => `<Part><PartNumber>${p.part_number}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`).join("") +
      "</CompleteMultipartUpload>";
    await this.send("POST", key, { uploadId }, body);
  }

  private async abortMultipartUpload(key: string, uploadId: string) {
    await this.send("DELETE", key, { uploadId });
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw s3Error(e);
    }
  }
}

const isNotFound = (e: unknown) => {
  const code = (e as { code?: string })?.code ?? "";
  return code === "NoSuchKey" || code === "ERR_S3_FILE_NOT_FOUND" || /not ?found|NoSuchKey|404/i.test(String((e as Error)?.message ?? e));
};

function s3Error(e: unknown): MlflowError {
  if (e instanceof MlflowError) return e;
  return new MlflowError(`S3 error: ${(e as Error)?.message ?? String(e)}`, "INTERNAL_ERROR");
}

function xmlValue(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m ? m[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">") : undefined;
}

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
