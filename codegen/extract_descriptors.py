"""Extract MLflow's proto definitions from the installed wheel into protos/mlflow.binpb.

The mlflow wheel ships no .proto files, only the compiled *_pb2.py modules. Each embeds its
serialized FileDescriptorProto (with the HTTP `rpc` options), so we collect those for the
services mlflow-bun serves, plus every file they import, into one FileDescriptorSet that
@bufbuild/protobuf reads. Output is deterministic (files in dependency order).

Usage: python codegen/extract_descriptors.py <out.binpb>
"""

import sys

import mlflow
from google.protobuf import descriptor_pb2

# Importing the modules registers their descriptors in the default pool.
from mlflow.protos import (  # noqa: F401
    mlflow_artifacts_pb2,
    model_registry_pb2,
    service_pb2,
    webhooks_pb2,
)

ROOTS = [
    service_pb2.DESCRIPTOR,
    model_registry_pb2.DESCRIPTOR,
    mlflow_artifacts_pb2.DESCRIPTOR,
    webhooks_pb2.DESCRIPTOR,
]


def main() -> None:
    out = sys.argv[1]
    expected = open("MLFLOW_VERSION").read().strip()
    if mlflow.__version__ != expected:
        sys.exit(f"venv has mlflow {mlflow.__version__}, MLFLOW_VERSION pins {expected}")

    ordered, seen = [], set()

    def visit(fd):
        if fd.name in seen:
            return
        seen.add(fd.name)
        for dep in fd.dependencies:
            visit(dep)
        ordered.append(fd)

    for root in ROOTS:
        visit(root)

    fds = descriptor_pb2.FileDescriptorSet()
    for fd in ordered:
        # serialized_pb is the exact descriptor protoc embedded, custom options included.
        fds.file.append(descriptor_pb2.FileDescriptorProto.FromString(fd.serialized_pb))
    with open(out, "wb") as f:
        f.write(fds.SerializeToString(deterministic=True))
    print(f"{out}: {len(ordered)} files from mlflow {mlflow.__version__}")


if __name__ == "__main__":
    main()
