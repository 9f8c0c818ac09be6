// LocalArtifactRepository (store/artifact/local_artifact_repo.py): artifacts as files under one
// directory. Every path is joined under the root and then checked against the real file system
// (validatePathWithinDirectory), so a symlink inside the root cannot lead a read, write, list
// or delete out of it.
import { existsSync, lstatSync, readdirSync, statSync } from "node:fs";
import { mkdir, open, rename, rm, unlink } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { MlflowError } from "../../errors";
import { normpath } from "../../python/urllib";
import { validatePathWithinDirectory, verifyArtifactPath } from "./paths";
import type { ArtifactFile, ArtifactStore, FileInfo } from "./types";

/** Uploads are staged under this prefix and renamed into place; listings hide them. */
export const TEMP_ARTIFACT_PREFIX = ".artifact.uploading.";

export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  async list(path?: string): Promise<FileInfo[]> {
    return listLocal(this.root, path);
  }

  async read(path: string): Promise<ArtifactFile | "missing" | "directory"> {
    const full = join(this.root, normpath(path));
    validatePathWithinDirectory(this.root, full);
    let stats;
    try {
      stats = statSync(full); // follows links, as os.path.exists does: a dangling one is missing
    } catch {
      return "missing";
    }
    if (stats.isDirectory()) return "directory";
    const file = Bun.file(full);
    return { stream: () => file.stream(), size: stats.size, lastModified: stats.mtimeMs };
  }

  async write(dir: string | undefined, fileName: string, body: ReadableStream<Uint8Array> | null): Promise<void> {
    verifyArtifactPath(dir);
    const artifactDir = dir ? join(this.root, normpath(dir)) : this.root;
    validatePathWithinDirectory(this.root, artifactDir);
    await mkdir(artifactDir, { recursive: true });
    if (basename(fileName).startsWith(TEMP_ARTIFACT_PREFIX)) {
      throw MlflowError.invalid(
        `Invalid artifact file name: '${fileName}'. Artifact names starting with '${TEMP_ARTIFACT_PREFIX}' are reserved.`,
      );
    }
    const destination = join(artifactDir, basename(fileName));
    validatePathWithinDirectory(this.root, destination);
    const staging = join(artifactDir, `${TEMP_ARTIFACT_PREFIX}${crypto.randomUUID().replaceAll("-", "")}`);
    // "wx": a fresh file, never an existing one (or a link planted at the staging name); mode as open() gives
    const handle = await open(staging, "wx", 0o666);
    let published = false;
    try {
      if (body) {
        for await (const chunk of body) await handle.write(chunk); // one chunk in memory at a time
      }
      await handle.close();
      await rename(staging, destination);
      published = true;
    } finally {
      if (!published) {
        await handle.close().catch(() => {});
        await unlink(staging).catch(() => {});
      }
    }
  }

  async delete(path?: string): Promise<void> {
    const target = path ? join(this.root, path) : this.root;
    // MLflow does not check this for deletes; without it a linked directory inside the root
    // would let a delete reach files outside it.
    validatePathWithinDirectory(this.root, target);
    if (!existsSync(target)) return;
    if (lstatSync(target).isDirectory()) await rm(target, { recursive: true, force: true });
    else await unlink(target); // a file, or a link (never what it points to)
  }
}

/** LocalArtifactRepository.list_artifacts: the entries of one directory, sorted by path. */
export function listLocal(artifactDir: string, path: string | undefined): FileInfo[] {
  const rel = path ? normpath(path) : undefined;
  const listDir = rel ? join(artifactDir, rel) : artifactDir;
  validatePathWithinDirectory(artifactDir, listDir);
  if (!isDir(listDir)) return [];
  const infos = readdirSync(listDir)
    .filter((name) => !name.startsWith(TEMP_ARTIFACT_PREFIX))
    .map((name): FileInfo => {
      const full = join(listDir, name);
      const filePath = relative(artifactDir, full);
      if (isDir(full)) return { path: filePath, is_dir: true };
      const size = statSync(full).size; // a dangling link raises, as os.path.getsize does
      return size ? { path: filePath, is_dir: false, file_size: size } : { path: filePath, is_dir: false }; // FileInfo.to_proto omits 0
    });
  return infos.sort((a, b) => codePointCompare(a.path, b.path));
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** Python's str ordering (code points), not UTF-16 units. */
export function codePointCompare(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
