// One interface over the places artifacts live (MLflow's ArtifactRepository, reduced to what
// the server's artifact routes use). Paths are relative POSIX paths that the services have
// already checked (services/artifact-paths.ts); stores add their own containment checks.

/** FileInfo as list_artifacts returns it: the path relative to the store's root. */
export interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

/** A file ready to be streamed out: never read into memory as a whole. */
export interface ArtifactFile {
  stream(): ReadableStream<Uint8Array>;
  size: number;
  /** Epoch milliseconds, when the store knows it. */
  lastModified?: number;
  /** The store's own entity tag (quoted), when it has one. */
  etag?: string;
}

export interface MultipartCredential {
  url: string;
  part_number: number;
  headers: Record<string, string>;
}

export interface MultipartPart {
  part_number: number;
  etag: string;
}

/** MultipartUploadMixin: parts go straight to the storage through presigned URLs. */
export interface MultipartStore {
  createMultipartUpload(dir: string | undefined, fileName: string, numParts: number): Promise<{ upload_id: string; credentials: MultipartCredential[] }>;
  completeMultipartUpload(dir: string | undefined, fileName: string, uploadId: string, parts: MultipartPart[]): Promise<void>;
  abortMultipartUpload(dir: string | undefined, fileName: string, uploadId: string): Promise<void>;
}

export interface ArtifactStore {
  /** The directory listing under `path` (the root when undefined), sorted by path. */
  list(path?: string): Promise<FileInfo[]>;
  /**
   * The file at `path`: "missing" when nothing is there, "directory" when it names a directory
   * (MLflow answers differently for each).
   */
  read(path: string): Promise<ArtifactFile | "missing" | "directory">;
  /** Streams `body` into `dir/fileName`; readers never see a partial file. */
  write(dir: string | undefined, fileName: string, body: ReadableStream<Uint8Array> | null): Promise<void>;
  /** Deletes the file or the directory tree at `path` (the whole root when undefined). */
  delete(path?: string): Promise<void>;
  /** Present when the storage supports presigned multipart uploads (S3). */
  multipart?: MultipartStore;
}
