// The server's settings, one place. Defaults and environment variables mirror `mlflow server`.
import { isAbsolute, resolve } from "node:path";

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
  /** The Python `mlflow server` every non-native request is forwarded to. */
  pythonUrl?: string;
  staticPrefix: string;
  poolSize: number;
}

export const DEFAULTS = {
  host: "127.0.0.1",
  port: 5000,
  backendStoreUri: "sqlite:///mlflow.db",
  serveArtifacts: true,
  artifactsDestination: "./mlartifacts",
  artifactsOnly: false,
  staticPrefix: "",
  poolSize: 10,
} as const;

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
