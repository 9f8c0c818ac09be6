// The server's settings, one place. Defaults and environment variables mirror `mlflow server`.
import { isAbsolute, resolve } from "node:path";
import { parseStoreUri } from "./store/db";

export interface Config {
  host: string;
  port: number;
  backendStoreUri: string;
  /** As stored in experiments.artifact_location: already resolved (see resolveArtifactRoot). */
  defaultArtifactRoot: string;
  serveArtifacts: boolean;
  artifactsDestination: string;
  /** --artifacts-only: only the artifact routes are served; the tracking and registry APIs answer 503. */
  artifactsOnly: boolean;
  /** --artifacts-presigned-only: run and model artifacts move directly to storage; the proxied
   * upload and download routes answer PERMISSION_DENIED (mlflow/server/artifact_transfer.py). */
  artifactsPresignedOnly: boolean;
  /** The Python `mlflow server` every non-native request is forwarded to. */
  pythonUrl?: string;
  staticPrefix: string;
  poolSize: number;
  /** Processes sharing the port (--workers); each has its own database connections. */
  workers: number;
  /** --registry-store-uri as given; undefined means the backend store (MLflow's default). */
  registryStoreUri?: string;
  /** Accepted for the Python server; mlflow-bun reads from the primary (docs/differences.md). */
  readReplicaBackendStoreUri?: string;
  /** --app-name (e.g. basic-auth): an application mlflow-bun does not implement. */
  appName?: string;
  enableWorkspaces: boolean;
  workspaceStoreUri?: string;
  // The security middleware (mlflow/server/fastapi_security.py), as `mlflow server` hands it
  // its settings: the raw comma-separated lists, the X-Frame-Options value.
  disableSecurityMiddleware: boolean;
  allowedHosts?: string;
  corsAllowedOrigins?: string;
  xFrameOptions: string;
}

export const DEFAULTS = {
  host: "127.0.0.1",
  port: 5000,
  backendStoreUri: "sqlite:///mlflow.db",
  serveArtifacts: true,
  artifactsDestination: "./mlartifacts",
  artifactsOnly: false,
  artifactsPresignedOnly: false,
  staticPrefix: "",
  poolSize: 10,
  workers: 1,
  enableWorkspaces: false,
  disableSecurityMiddleware: false,
  xFrameOptions: "SAMEORIGIN",
} as const;

/**
 * Why every request must go to the Python server, or undefined when mlflow-bun serves natively:
 * these modes change what every route means (authentication, per-workspace data).
 */
export function everythingProxied(config: Config): string | undefined {
  if (config.appName !== undefined) return `--app-name ${config.appName}`;
  if (config.enableWorkspaces) return "--enable-workspaces";
  return undefined;
}

/** True when registered models live in another store than the backend: the registry RPCs go to Python. */
export function separateRegistry(config: Config): boolean {
  return config.registryStoreUri !== undefined && !sameStore(config.registryStoreUri, config.backendStoreUri);
}

function sameStore(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const [x, y] = [parseStoreUri(a), parseStoreUri(b)];
    const where = (s: typeof x) => (s.dialect === "sqlite" && s.target !== ":memory:" ? resolve(s.target) : s.target);
    return x.dialect === y.dialect && where(x) === where(y) && x.target !== ":memory:";
  } catch {
    return a === b;
  }
}

/**
 * MLflow's default artifact root: `mlflow-artifacts:/` when serving artifacts, else ./mlruns;
 * relative local paths become absolute the way resolve_uri_if_local makes them.
 */
export function resolveArtifactRoot(root: string | undefined, serveArtifacts: boolean): string {
  const chosen = root ?? (serveArtifacts ? "mlflow-artifacts:/" : "./mlruns");
  return resolveUriIfLocal(chosen);
}

/** mlflow.utils.uri.resolve_uri_if_local: a relative scheme-less path becomes an absolute path. */
export function resolveUriIfLocal(uri: string): string {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(uri) || isAbsolute(uri)) return uri;
  return resolve(uri);
}
