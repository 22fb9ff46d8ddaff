"""The command line: one module per command group, each a thin Typer wrapper over a service.

`app` is what the `callqa` script runs. Heavy libraries load inside the commands, never here.
"""

from pipeline.cli.app import app

__all__ = ["app"]
