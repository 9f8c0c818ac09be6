"""Seed an MLflow tracking server for the browser test, through its REST API with the real client.

Usage: .venv/bin/python test/browser/seed.py TRACKING_URL

Prints one JSON object on the last line of stdout: the names and ids the browser test looks for.
Everything goes through TRACKING_URL (mlflow-bun): what it does not serve natively (artifact
upload, for instance) it proxies to the Python server.
"""

from __future__ import annotations

import json
import sys
import time

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

# A model directory's MLmodel (no model files): the version page reads its signature through
# /model-versions/get-artifact?path=MLmodel.
MLMODEL = """artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.pyfunc.model
    python_version: 3.11.0
mlflow_version: 3.18.0
model_uuid: 0f1e2d3c4b5a69788796a5b4c3d2e1f0
signature:
  inputs: '[{"type": "double", "name": "sepal_width", "required": true}, {"type": "string", "name": "colour_bun", "required": true}]'
  outputs: '[{"type": "long", "name": "prediction", "required": true}]'
  params: null
"""

ARTIFACT_TEXT = "Hello from the mlflow-bun browser test.\nSecond line of the artifact."


def main() -> None:
    url = sys.argv[1]
    mlflow.set_tracking_uri(url)
    client = MlflowClient(url)
    stamp = int(time.time() * 1000)

    alpha = client.create_experiment("ui-browser-alpha", tags={"team": "bun-ui", "purpose": "browser"})
    beta = client.create_experiment("ui-browser-beta")

    # The main run: params, tags, metrics with a history of several steps, a text artifact.
    run = client.create_run(alpha, run_name="ui-run-main", tags={"stage": "browser-check", "owner": "ui-test"})
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        params=[Param("learning_rate", "0.0042"), Param("optimizer", "adamw-bun"), Param("epochs", "5")],
        tags=[RunTag("mlflow.note.content", "Seeded by test/browser/seed.py")],
        metrics=[
            Metric("train_loss", 1.0 / (step + 1), stamp + step * 1000, step) for step in range(5)
        ]
        + [Metric("val_accuracy", 0.5 + 0.1 * step, stamp + step * 1000, step) for step in range(5)],
    )
    for step in range(5, 8):  # more history through log-metric, one point at a time
        client.log_metric(run_id, "train_loss", 1.0 / (step + 1), timestamp=stamp + step * 1000, step=step)
    client.log_text(run_id, ARTIFACT_TEXT, "notes/readme.txt")
    client.log_text(run_id, MLMODEL, "model/MLmodel")
    client.set_terminated(run_id, "FINISHED")

    # A second run in the same experiment (the runs table then has two rows) and one in beta.
    other = client.create_run(alpha, run_name="ui-run-other")
    client.log_param(other.info.run_id, "learning_rate", "0.1")
    for step in range(3):
        client.log_metric(other.info.run_id, "train_loss", 2.0 - step * 0.5, timestamp=stamp + step * 1000, step=step)
    client.set_terminated(other.info.run_id, "FINISHED")
    beta_run = client.create_run(beta, run_name="ui-run-beta")
    client.log_param(beta_run.info.run_id, "batch_size", "64")
    client.set_terminated(beta_run.info.run_id, "FINISHED")

    # The model registry: a model with two versions, an alias, tags and a description.
    model = "ui-browser-model"
    client.create_registered_model(model, tags={"domain": "browser"}, description="Registered by the browser test")
    source = f"{run.info.artifact_uri}/model"
    v1 = client.create_model_version(model, source, run_id=run_id, description="first version")
    v2 = client.create_model_version(model, source, run_id=run_id, tags={"quality": "good"})
    client.set_registered_model_alias(model, "champion", v2.version)
    client.set_model_version_tag(model, v1.version, "quality", "baseline")

    print(
        json.dumps(
            {
                "experiments": {"alpha": alpha, "beta": beta},
                "run_id": run_id,
                "run_name": "ui-run-main",
                "other_run_id": other.info.run_id,
                "beta_run_id": beta_run.info.run_id,
                "artifact_path": "notes/readme.txt",
                "artifact_text": ARTIFACT_TEXT,
                "model": model,
                "versions": [v1.version, v2.version],
                "alias": "champion",
            }
        )
    )


if __name__ == "__main__":
    main()
