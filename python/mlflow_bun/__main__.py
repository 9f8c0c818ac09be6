# `python -m mlflow_bun server ...` is `mlflow-bun server ...`.
from mlflow_bun.cli import main

main()
