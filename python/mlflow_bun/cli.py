"""`mlflow-bun server [every option of mlflow server]`.

The server command's options are MLflow's own click parameters, taken from the installed
`mlflow server` when the command is used: a flag a newer MLflow adds is parsed, validated and
passed on without a change here. The user's arguments go to both servers verbatim.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import click

from mlflow_bun import __version__

SERVER_HELP = """Run mlflow-bun in front of MLflow's own tracking server.

Takes every option of `mlflow server`. MLflow's server is started with them on a private port
of 127.0.0.1 (so its --workers, store, artifact and security options apply there); once it
answers, the mlflow-bun binary serves --host/--port with the same options and passes every
request it does not serve natively to MLflow's server. Ctrl-C stops both. When MLflow's server
dies it is restarted (with a growing pause; after 5 quick failures in a row both stop and the
command exits non-zero); when the binary dies, both stop. MLFLOW_BUN_BINARY overrides the
packaged binary.
"""


class _ServerCommand(click.Command):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Kept before click consumes them: the servers get the user's spelling, not ours.
        ctx.meta["mlflow_bun.argv"] = list(args)
        return super().parse_args(ctx, args)


def _run_server(**_params) -> None:
    from mlflow_bun.launcher import launch

    ctx = click.get_current_context()
    sys.exit(launch(ctx.meta["mlflow_bun.argv"], ctx))


def _server_command() -> click.Command:
    # Importing mlflow.cli takes seconds, so only `server` (and its --help) pays for it.
    from mlflow.cli import server as mlflow_server

    return _ServerCommand(
        name="server",
        params=[copy.copy(p) for p in mlflow_server.params],
        callback=_run_server,
        help=SERVER_HELP,
        short_help="Run mlflow-bun in front of MLflow's tracking server.",
        context_settings=dict(mlflow_server.context_settings),
    )


class _Cli(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["server"]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        # `mlflow ui` is MLflow's alias of `mlflow server`; keep it.
        return _server_command() if name in ("server", "ui") else None


def _load_env_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`mlflow --env-file`: the file's variables reach both servers; set ones win."""
    if value is not None:
        if not Path(value).exists():
            raise click.BadParameter(f"Environment file '{value}' does not exist.")
        from dotenv import load_dotenv

        load_dotenv(value, override=False)
        click.echo(f"Loaded environment variables from: {value}")
    return value


@click.group(cls=_Cli)
@click.version_option(version=__version__, prog_name="mlflow-bun")
@click.option(
    "--env-file",
    type=click.Path(exists=False),
    callback=_load_env_file,
    is_eager=True,
    help="Load environment variables from a dotenv file before executing the command. "
    "Variables in the file will be loaded but won't override existing environment variables.",
)
def cli(env_file: str | None) -> None:
    """mlflow-bun: the MLflow tracking server REST API on Bun."""


def main() -> None:
    cli(prog_name="mlflow-bun")
