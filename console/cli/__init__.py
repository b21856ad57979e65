"""The command line: ``python main.py <command>`` (``console.cli.entry`` parses; one module
per command). Qt-free; every command opens its services through ``console.cli.session``."""

from console.cli.entry import main

__all__ = ["main"]
