// parseArgs: `mlflow-bun [server] [flags]`, with the flags, environment variables and defaults
// of `mlflow server` (click: flag beats envvar beats default; an empty envvar is unset).
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { parseArgs, UsageError } from "../../src/args";
import type { Config } from "../../src/config";

/** The fields beyond the original ones, at `mlflow server`'s defaults (workers: see the --workers tests). */
const SERVER_DEFAULTS = {
  artifactsPresignedOnly: false,
  workers: 1,
  registryStoreUri: undefined,
  readReplicaBackendStoreUri: undefined,
  appName: undefined,
  enableWorkspaces: false,
  workspaceStoreUri: undefined,
  disableSecurityMiddleware: false,
  allowedHosts: undefined,
  corsAllowedOrigins: undefined,
  xFrameOptions: "SAMEORIGIN",
};

const parse = (argv: string[], env: Record<string, string | undefined> = {}) => parseArgs(argv, env) as Config;

function usageError(argv: string[], env: Record<string, string | undefined> = {}): UsageError {
  try {
    parseArgs(argv, env);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error(`parseArgs(${JSON.stringify(argv)}) did not throw`);
}

describe("defaults", () => {
  test("no flags, no environment: mlflow server's defaults", () => {
    expect(parse([])).toEqual({
      host: "127.0.0.1",
      port: 5000,
      backendStoreUri: "sqlite:///mlflow.db",
      defaultArtifactRoot: "mlflow-artifacts:/",
      serveArtifacts: true,
      artifactsDestination: "./mlartifacts",
      artifactsOnly: false,
      pythonUrl: undefined,
      staticPrefix: "",
      poolSize: 10,
      ...SERVER_DEFAULTS,
    });
  });

  test("--no-serve-artifacts makes the default artifact root ./mlruns, made absolute", () => {
    const c = parse(["--no-serve-artifacts"]);
    expect(c.serveArtifacts).toBe(false);
    expect(c.defaultArtifactRoot).toBe(resolve("./mlruns"));
  });

  test("process.env is the default environment", () => {
    const saved = process.env.MLFLOW_PORT;
    process.env.MLFLOW_PORT = "5123";
    try {
      expect((parseArgs([]) as Config).port).toBe(5123);
    } finally {
      if (saved === undefined) delete process.env.MLFLOW_PORT;
      else process.env.MLFLOW_PORT = saved;
    }
  });
});

describe("flags", () => {
  test("every valued flag, long and short, space- and =-separated", () => {
    const c = parse([
      "-h", "0.0.0.0",
      "-p", "8080",
      "--backend-store-uri", "postgresql://u:p@db:5432/mlflow",
      "--default-artifact-root=s3://bucket/path",
      "--artifacts-destination", "s3://bucket/artifacts",
      "--static-prefix=/mlflow",
      "--python-url", "http://127.0.0.1:5001",
      "--pool-size", "4",
    ]);
    expect(c).toEqual({
      host: "0.0.0.0",
      port: 8080,
      backendStoreUri: "postgresql://u:p@db:5432/mlflow",
      defaultArtifactRoot: "s3://bucket/path",
      serveArtifacts: true,
      artifactsDestination: "s3://bucket/artifacts",
      artifactsOnly: false,
      pythonUrl: "http://127.0.0.1:5001",
      staticPrefix: "/mlflow",
      poolSize: 4,
      ...SERVER_DEFAULTS,
    });
    expect(parse(["--host", "::1", "--port=0"])).toMatchObject({ host: "::1", port: 0 });
  });

  test("the `server` subcommand is optional and means the same", () => {
    const argv = ["--port", "6000", "--backend-store-uri", "sqlite:////tmp/x.db"];
    expect(parse(["server", ...argv])).toEqual(parse(argv));
    expect(parse(["server"])).toEqual(parse([]));
  });

  test("-h is --host (as in mlflow server), not help", () => {
    expect(parse(["-h", "10.0.0.1"]).host).toBe("10.0.0.1");
  });

  test("--help and --version win wherever they appear", () => {
    expect(parseArgs(["--help"], {})).toBe("help");
    expect(parseArgs(["server", "--port", "1", "--help"], {})).toBe("help");
    expect(parseArgs(["--version"], {})).toBe("version");
    expect(parseArgs(["server", "--version", "--bogus"], {})).toBe("version");
  });

  test("a relative local artifact root becomes absolute; URIs and absolute paths stay", () => {
    expect(parse(["--default-artifact-root", "./artifacts"]).defaultArtifactRoot).toBe(resolve("./artifacts"));
    expect(parse(["--default-artifact-root", "/srv/artifacts"]).defaultArtifactRoot).toBe("/srv/artifacts");
    expect(parse(["--default-artifact-root", "file:///srv/a"]).defaultArtifactRoot).toBe("file:///srv/a");
    expect(parse(["--default-artifact-root", "mlflow-artifacts:/x"]).defaultArtifactRoot).toBe("mlflow-artifacts:/x");
  });

  test("backend store URIs mlflow-bun serves", () => {
    for (const uri of ["sqlite:///mlflow.db", "sqlite:////abs/path.db", "sqlite://", "postgresql://h/db", "postgresql+psycopg2://u@h:5432/db", "postgres://h/db"]) {
      expect(parse(["--backend-store-uri", uri]).backendStoreUri).toBe(uri);
    }
  });

  test("the last of a repeated flag wins, as with click", () => {
    expect(parse(["--port", "1", "--port", "2"]).port).toBe(2);
    expect(parse(["--no-serve-artifacts", "--serve-artifacts"]).serveArtifacts).toBe(true);
  });
});

describe("environment variables", () => {
  const env = {
    MLFLOW_HOST: "0.0.0.0",
    MLFLOW_PORT: "7000",
    MLFLOW_BACKEND_STORE_URI: "postgresql://env/db",
    MLFLOW_DEFAULT_ARTIFACT_ROOT: "s3://env-bucket",
    MLFLOW_SERVE_ARTIFACTS: "false",
    MLFLOW_ARTIFACTS_DESTINATION: "s3://env-dest",
    MLFLOW_STATIC_PREFIX: "/env",
    MLFLOW_BUN_PYTHON_URL: "http://python:5001",
    MLFLOW_BUN_POOL_SIZE: "3",
  };

  test("each flag's environment variable sets it", () => {
    expect(parse([], env)).toEqual({
      host: "0.0.0.0",
      port: 7000,
      backendStoreUri: "postgresql://env/db",
      defaultArtifactRoot: "s3://env-bucket",
      serveArtifacts: false,
      artifactsDestination: "s3://env-dest",
      artifactsOnly: false,
      pythonUrl: "http://python:5001",
      staticPrefix: "/env",
      poolSize: 3,
      ...SERVER_DEFAULTS,
    });
  });

  test("a flag beats its environment variable", () => {
    const c = parse(["--host", "127.0.0.2", "--port", "7001", "--backend-store-uri", "sqlite:///flag.db", "--serve-artifacts", "--python-url", "http://flag:1", "--pool-size", "9"], env);
    expect(c).toMatchObject({ host: "127.0.0.2", port: 7001, backendStoreUri: "sqlite:///flag.db", serveArtifacts: true, pythonUrl: "http://flag:1", poolSize: 9 });
  });

  test("MLFLOW_SERVE_ARTIFACTS takes click's boolean spellings", () => {
    for (const v of ["true", "True", "1", "yes", "y", "t", "on", " TRUE "]) expect(parse([], { MLFLOW_SERVE_ARTIFACTS: v }).serveArtifacts).toBe(true);
    for (const v of ["false", "False", "0", "no", "n", "f", "off"]) expect(parse([], { MLFLOW_SERVE_ARTIFACTS: v }).serveArtifacts).toBe(false);
    expect(usageError([], { MLFLOW_SERVE_ARTIFACTS: "maybe" }).message).toBe("Invalid value for '--serve-artifacts': 'maybe' is not a valid boolean.");
  });

  test("MLFLOW_SERVE_ARTIFACTS=false without a root makes the default root ./mlruns", () => {
    expect(parse([], { MLFLOW_SERVE_ARTIFACTS: "false" }).defaultArtifactRoot).toBe(resolve("./mlruns"));
  });

  test("an empty environment variable counts as unset (click's rule)", () => {
    const empty = Object.fromEntries(Object.keys(env).map((k) => [k, ""]));
    expect(parse([], empty)).toEqual(parse([], {}));
  });
});

describe("usage errors", () => {
  test("an unknown flag or argument", () => {
    expect(usageError(["--bogus"]).message).toBe("No such option: --bogus");
    expect(usageError(["server", "--bogus-workers", "4"]).message).toBe("No such option: --bogus-workers");
    expect(usageError(["serve"]).message).toBe("No such option: serve");
  });

  test("a flag without its value", () => {
    expect(usageError(["--port"]).message).toBe("Option '--port' requires an argument.");
    expect(usageError(["--backend-store-uri"]).message).toBe("Option '--backend-store-uri' requires an argument.");
  });

  test("a port that is not an integer in 0..65535", () => {
    for (const p of ["abc", "-1", "65536", "1.5", "1e3", "0x10", ""]) {
      expect(usageError(["--port", p]).message).toMatch(/^Invalid value for '--port': '.*' is not a valid port\.$/);
    }
    expect(usageError([], { MLFLOW_PORT: "http" }).message).toBe("Invalid value for '--port': 'http' is not a valid port.");
    expect(parse(["--port", "65535"]).port).toBe(65535);
  });

  test("a pool size that is not a positive integer", () => {
    for (const n of ["0", "-2", "x", "2.5"]) expect(usageError(["--pool-size", n]).message).toBe("Invalid value for '--pool-size': must be a positive integer.");
    expect(usageError([], { MLFLOW_BUN_POOL_SIZE: "0" }).message).toBe("Invalid value for '--pool-size': must be a positive integer.");
  });

  test("a backend store URI mlflow-bun does not serve, or malformed", () => {
    expect(usageError(["--backend-store-uri", "mysql://u@h/db"]).message).toStartWith("Invalid value for '--backend-store-uri': Unsupported backend store URI 'mysql://u@h/db'");
    expect(usageError(["--backend-store-uri", "./mlruns"]).message).toStartWith("Invalid value for '--backend-store-uri': Invalid backend store URI './mlruns'");
    expect(usageError(["--backend-store-uri", "sqlite://relative.db"]).message).toStartWith("Invalid value for '--backend-store-uri': Invalid SQLite URI");
    expect(usageError([], { MLFLOW_BACKEND_STORE_URI: "file:///tmp/mlruns" }).message).toStartWith("Invalid value for '--backend-store-uri': Unsupported backend store URI");
  });

  test("a python URL that is not http(s)", () => {
    for (const u of ["localhost:5001", "ftp://host", "http://"]) expect(usageError(["--python-url", u]).message).toBe(`Invalid value for '--python-url': '${u}' is not an http(s) URL.`);
    expect(parse(["--python-url", "https://mlflow.internal:443/base"]).pythonUrl).toBe("https://mlflow.internal:443/base");
  });
});

describe("--static-prefix", () => {
  test("is validated as `mlflow server` validates it", () => {
    expect(() => parseArgs(["--static-prefix", "x"], {})).toThrow("--static-prefix must begin with a '/'.");
    expect(() => parseArgs(["--static-prefix", "/x/"], {})).toThrow("--static-prefix should not end with a '/'.");
    expect(() => parseArgs(["--static-prefix", "/{x}"], {})).toThrow("--static-prefix must not contain '{' or '}'.");
    expect((parseArgs(["--static-prefix", "/mlflow"], {}) as any).staticPrefix).toBe("/mlflow");
  });
});

describe("every option of `mlflow server`", () => {
  const PY = ["--python-url", "http://127.0.0.1:5001"];

  test("security middleware options and their environment variables", () => {
    const c = parse(["--allowed-hosts", "a.example.com,10.0.*", "--cors-allowed-origins=https://app.example.com", "--x-frame-options", "DENY"]);
    expect(c).toMatchObject({ allowedHosts: "a.example.com,10.0.*", corsAllowedOrigins: "https://app.example.com", xFrameOptions: "DENY", disableSecurityMiddleware: false });
    expect(parse(["--disable-security-middleware"]).disableSecurityMiddleware).toBe(true);
    const env = { MLFLOW_SERVER_ALLOWED_HOSTS: "h.example", MLFLOW_SERVER_CORS_ALLOWED_ORIGINS: "https://o.example", MLFLOW_SERVER_X_FRAME_OPTIONS: "NONE", MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE: "true" };
    expect(parse([], env)).toMatchObject({ allowedHosts: "h.example", corsAllowedOrigins: "https://o.example", xFrameOptions: "NONE", disableSecurityMiddleware: true });
    expect(parse(["--allowed-hosts", "flag.example"], env).allowedHosts).toBe("flag.example");
    // click's boolean spellings for the flag's envvar
    expect(parse([], { MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE: "off" }).disableSecurityMiddleware).toBe(false);
    expect(usageError([], { MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE: "sure" }).message).toBe("Invalid value for '--disable-security-middleware': 'sure' is not a valid boolean.");
  });

  test("-w/--workers and MLFLOW_WORKERS: the number of processes; 0 or less is one, as uvicorn takes it", () => {
    expect(parse(["-w", "3"]).workers).toBe(3);
    expect(parse(["--workers=2"]).workers).toBe(2);
    expect(parse(["-w4"]).workers).toBe(4);
    expect(parse([], { MLFLOW_WORKERS: "5" }).workers).toBe(5);
    expect(parse(["--workers", "2"], { MLFLOW_WORKERS: "5" }).workers).toBe(2);
    expect(parse(["--workers", "0"]).workers).toBe(1);
    expect(parse(["--workers", " 2 "]).workers).toBe(2);
    expect(usageError(["--workers", "many"]).message).toBe("Invalid value for '--workers': 'many' is not a valid integer.");
    expect(usageError([], { MLFLOW_WORKERS: "1.5" }).message).toBe("Invalid value for '--workers': '1.5' is not a valid integer.");
    expect(usageError(["-w"]).message).toBe("Option '-w' requires an argument.");
  });

  test("several workers cannot share an in-memory SQLite database", () => {
    expect(usageError(["--workers", "2", "--backend-store-uri", "sqlite://"]).message).toBe(
      "--workers 2 cannot serve an in-memory SQLite database (sqlite://): each worker would have its own.",
    );
    expect(parse(["--workers", "1", "--backend-store-uri", "sqlite://"]).workers).toBe(1);
  });

  test("-p and -h take attached values as click does", () => {
    expect(parse(["-p5001", "-h0.0.0.0"])).toMatchObject({ port: 5001, host: "0.0.0.0" });
  });

  test("store URIs: registry, read replica, workspaces", () => {
    const c = parse(["--registry-store-uri", "sqlite:///mlflow.db", "--read-replica-backend-store-uri", "postgresql://replica/db", "--workspace-store-uri", "postgresql://ws/db"]);
    expect(c).toMatchObject({ registryStoreUri: "sqlite:///mlflow.db", readReplicaBackendStoreUri: "postgresql://replica/db", workspaceStoreUri: "postgresql://ws/db" });
    const env = { MLFLOW_REGISTRY_STORE_URI: "sqlite:///mlflow.db", MLFLOW_READ_REPLICA_BACKEND_STORE_URI: "postgresql://r/db", MLFLOW_WORKSPACE_STORE_URI: "postgresql://w/db" };
    expect(parse([], env)).toMatchObject({ registryStoreUri: "sqlite:///mlflow.db", readReplicaBackendStoreUri: "postgresql://r/db", workspaceStoreUri: "postgresql://w/db" });
  });

  test("options for the Python process only are accepted (and validated as mlflow server does)", () => {
    const c = parse([
      "--uvicorn-opts", "--timeout-keep-alive 30", "--expose-prometheus", "/tmp/prom",
      "--secrets-cache-ttl", "120", "--secrets-cache-max-size", "50", "--trace-archival-config", import.meta.path,
    ]);
    expect(c).toEqual(parse([]));
    expect(parse(["--gunicorn-opts", "--timeout 60"])).toEqual(parse([]));
    expect(parse(["--waitress-opts", "--threads 4"])).toEqual(parse([]));
    expect(parse(["--dev"])).toEqual(parse([]));
    const env = { MLFLOW_GUNICORN_OPTS: "--timeout 1", MLFLOW_EXPOSE_PROMETHEUS: "/tmp/p", MLFLOW_TRACE_ARCHIVAL_CONFIG: import.meta.path };
    expect(parse([], env)).toEqual(parse([]));
  });

  test("their usage errors, word for word", () => {
    const multiple = "Cannot specify multiple server options. Choose one of: '--gunicorn-opts', '--waitress-opts', or '--uvicorn-opts'.";
    expect(usageError(["--gunicorn-opts", "a", "--uvicorn-opts", "b"]).message).toBe(multiple);
    expect(usageError(["--waitress-opts", "a"], { MLFLOW_UVICORN_OPTS: "b" }).message).toBe(multiple);
    expect(usageError(["--dev", "--waitress-opts", "a"]).message).toBe(multiple);
    expect(usageError(["--dev", "--gunicorn-opts", "a"]).message).toBe("'--dev' and '--gunicorn-opts' cannot be specified together.");
    expect(usageError(["--dev", "--uvicorn-opts", "a"]).message).toBe("'--dev' and '--uvicorn-opts' cannot be specified together.");
    expect(usageError(["--dev", "--app-name", "basic-auth", ...PY]).message).toBe(
      "'--dev' cannot be used with '--app-name'. Development mode with auto-reload is only supported for the default MLflow tracking server.",
    );
    expect(usageError(["--dev=1"]).message).toBe("Option '--dev' does not take a value.");
    const security =
      "Security middleware parameters (--allowed-hosts, --cors-allowed-origins, --disable-security-middleware) are only supported with the default uvicorn server. " +
      "They cannot be used with --gunicorn-opts or --waitress-opts. To use security features, run without specifying a server option (uses uvicorn by default) or explicitly use --uvicorn-opts.";
    expect(usageError(["--gunicorn-opts", "a", "--allowed-hosts", "x"]).message).toBe(security);
    expect(usageError(["--waitress-opts", "a", "--disable-security-middleware"]).message).toBe(security);
    expect(usageError(["--cors-allowed-origins", "x"], { MLFLOW_GUNICORN_OPTS: "a" }).message).toBe(security);
    // only the command line counts: Docker images set the envvars
    expect(parse(["--gunicorn-opts", "a"], { MLFLOW_SERVER_ALLOWED_HOSTS: "x" }).allowedHosts).toBe("x");
    expect(usageError(["--secrets-cache-ttl", "5"]).message).toBe("Invalid value for '--secrets-cache-ttl': 5 is not in the range 10<=x<=300.");
    expect(usageError(["--secrets-cache-ttl", "x"]).message).toBe("Invalid value for '--secrets-cache-ttl': 'x' is not a valid integer range.");
    expect(usageError(["--secrets-cache-max-size", "0"]).message).toBe("Invalid value for '--secrets-cache-max-size': 0 is not in the range 1<=x<=10000.");
    expect(usageError(["--secrets-cache-max-size", "10001"]).message).toBe("Invalid value for '--secrets-cache-max-size': 10001 is not in the range 1<=x<=10000.");
    expect(usageError(["--trace-archival-config", "/nonexistent.yaml"]).message).toBe("Invalid value for '--trace-archival-config': File '/nonexistent.yaml' does not exist.");
    expect(usageError(["--trace-archival-config", import.meta.dir]).message).toBe(`Invalid value for '--trace-archival-config': File '${import.meta.dir}' is a directory.`);
  });

  test("--artifacts-presigned-only and MLFLOW_ARTIFACTS_PRESIGNED_ONLY", () => {
    expect(parse(["--artifacts-presigned-only", "--artifacts-destination", "s3://bucket/a"]).artifactsPresignedOnly).toBe(true);
    expect(parse(["--artifacts-destination", "gs://b"], { MLFLOW_ARTIFACTS_PRESIGNED_ONLY: "TRUE" }).artifactsPresignedOnly).toBe(true);
    expect(parse([], { MLFLOW_ARTIFACTS_PRESIGNED_ONLY: "0" }).artifactsPresignedOnly).toBe(false);
    // click accepts "yes"; MLflow's own parser, which `mlflow server` consults next, does not
    expect(usageError([], { MLFLOW_ARTIFACTS_PRESIGNED_ONLY: "yes" }).message).toBe(
      "MLFLOW_ARTIFACTS_PRESIGNED_ONLY value must be one of ['true', 'false', '1', '0'] (case-insensitive), but got yes",
    );
    expect(usageError(["--artifacts-presigned-only", "--no-serve-artifacts"]).message).toBe(
      "--artifacts-presigned-only requires artifact serving to be enabled; --no-serve-artifacts is not supported.",
    );
    expect(usageError(["--artifacts-presigned-only"]).message).toBe(
      "--artifacts-presigned-only requires an artifacts destination that supports presigned uploads and presigned downloads (got './mlartifacts').",
    );
    expect(usageError(["--artifacts-presigned-only", "--artifacts-destination", "file:///srv/a"]).message).toContain("(got 'file:///srv/a')");
  });

  test("--artifacts-only combinations mlflow server refuses", () => {
    expect(usageError(["--artifacts-only", "--backend-store-uri", "sqlite:///other.db"]).message).toBe(
      "You are starting a tracking server in `--artifacts-only` mode and have provided a value for `--backend_store_uri`: 'sqlite:///other.db'. " +
        "A tracking server in `--artifacts-only` mode cannot have a value set for `--backend_store_uri` to properly proxy access to the artifact storage location.",
    );
    expect(parse(["--artifacts-only", "--backend-store-uri", "sqlite:///mlflow.db"]).artifactsOnly).toBe(true);
    expect(usageError(["--artifacts-only", "--enable-workspaces", ...PY]).message).toBe(
      "--workspace-store-uri is required when combining --enable-workspaces with --artifacts-only so artifact requests can be validated against a workspace provider.",
    );
    expect(usageError(["--artifacts-only", "--trace-archival-config", import.meta.path]).message).toBe(
      "--trace-archival-config cannot be combined with --artifacts-only because artifact-only servers do not initialize the tracking store required for server-owned trace archival.",
    );
  });

  test("MLFLOW_WORKSPACE is client-only", () => {
    expect(usageError([], { MLFLOW_WORKSPACE: "team-a" }).message).toBe("MLFLOW_WORKSPACE=team-a is client-only. Unset it before starting the server.");
  });
});

describe("modes only the Python server can serve", () => {
  const PY = ["--python-url", "http://127.0.0.1:5001"];

  test("--app-name: accepted with --python-url, refused without", () => {
    expect(parse(["--app-name", "basic-auth", ...PY]).appName).toBe("basic-auth");
    expect(usageError(["--app-name", "basic-auth"]).message).toBe(
      "--app-name basic-auth needs --python-url: mlflow-bun does not implement it, so every request must go to the MLflow Python server.",
    );
  });

  test("--enable-workspaces / --disable-workspaces and MLFLOW_ENABLE_WORKSPACES", () => {
    expect(parse(["--enable-workspaces", ...PY]).enableWorkspaces).toBe(true);
    expect(parse(["--enable-workspaces", "--disable-workspaces"]).enableWorkspaces).toBe(false);
    expect(parse(PY, { MLFLOW_ENABLE_WORKSPACES: "1" }).enableWorkspaces).toBe(true);
    // mlflow server reads the envvar itself, unless either flag is on the command line
    expect(parse(["--disable-workspaces"], { MLFLOW_ENABLE_WORKSPACES: "true" }).enableWorkspaces).toBe(false);
    expect(parse(["--disable-workspaces"], { MLFLOW_ENABLE_WORKSPACES: "bogus" }).enableWorkspaces).toBe(false);
    expect(parse([], { MLFLOW_ENABLE_WORKSPACES: "false" }).enableWorkspaces).toBe(false);
    expect(usageError([], { MLFLOW_ENABLE_WORKSPACES: "on" }).message).toBe(
      "MLFLOW_ENABLE_WORKSPACES value must be one of ['true', 'false', '1', '0'] (case-insensitive), but got on",
    );
    expect(usageError(["--enable-workspaces"]).message).toBe(
      "--enable-workspaces needs --python-url: mlflow-bun does not implement it, so every request must go to the MLflow Python server.",
    );
  });

  test("--registry-store-uri: the backend store is native; any other store needs --python-url", () => {
    for (const same of ["sqlite:///mlflow.db", `sqlite:///${process.cwd()}/mlflow.db`]) {
      expect(parse(["--registry-store-uri", same]).registryStoreUri).toBe(same);
    }
    expect(parse(["--backend-store-uri", "postgresql://h/db", "--registry-store-uri", "postgresql+psycopg2://h/db"]).registryStoreUri).toBe("postgresql+psycopg2://h/db");
    expect(parse(["--registry-store-uri", "sqlite:///registry.db", ...PY]).registryStoreUri).toBe("sqlite:///registry.db");
    expect(usageError(["--registry-store-uri", "sqlite:///registry.db"]).message).toBe(
      "--registry-store-uri sqlite:///registry.db is not the backend store: the model registry API needs --python-url to reach it.",
    );
    expect(usageError([], { MLFLOW_REGISTRY_STORE_URI: "mysql://u@h/reg" }).message).toContain("needs --python-url");
  });
});
