// parseArgs: `mlflow-bun [server] [flags]`, with the flags, environment variables and defaults
// of `mlflow server` (click: flag beats envvar beats default; an empty envvar is unset).
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { parseArgs, UsageError } from "../../src/args";
import type { Config } from "../../src/config";

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
    expect(usageError(["server", "--workers", "4"]).message).toBe("No such option: --workers");
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
