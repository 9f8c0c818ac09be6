"""mlflow-bun: the MLflow tracking server REST API on Bun, run in front of MLflow's own server.

`mlflow-bun server [options of mlflow server]` starts both; see mlflow_bun.cli.
"""

__version__ = "0.1.0"
