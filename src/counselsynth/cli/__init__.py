"""The `counselsynth` command: parse arguments, call the library, turn errors into one line.

Each command lives in its own module and registers itself on the app when imported here.
"""

from counselsynth.cli import augment as augment_command
from counselsynth.cli import coder as coder_commands
from counselsynth.cli import evaluate as evaluate_command
from counselsynth.cli import export as export_command
from counselsynth.cli import fidelity as fidelity_commands
from counselsynth.cli import frameworks, generate, merge, personas
from counselsynth.cli.app import app, main

__all__ = [
    "app",
    "augment_command",
    "coder_commands",
    "evaluate_command",
    "export_command",
    "fidelity_commands",
    "frameworks",
    "generate",
    "main",
    "merge",
    "personas",
]
