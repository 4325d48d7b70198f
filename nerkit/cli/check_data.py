"""``nerkit check-data VAR FOLDER FILE...``: check that a project var points at
a folder holding the expected data files, and say which var to set when it
does not (project.yml's ``check-conll03``)."""
from pathlib import Path
from typing import List

import typer
from wasabi import msg


def missing_files(folder: Path, names: List[str]) -> List[str]:
    """The NAMES that are not files in FOLDER, in order."""
    return [name for name in names if not (folder / name).is_file()]


def check_data_command(
    # fmt: off
    var: str = typer.Argument(..., help="Name of the project.yml var that holds the folder"),
    folder: Path = typer.Argument(..., help="The folder the var points at"),
    files: List[str] = typer.Argument(..., help="File names expected in the folder"),
    # fmt: on
) -> None:
    """Exit 1 with a message naming the var when a data file is missing."""
    missing = missing_files(folder, files)
    if missing:
        msg.fail(
            f"Data file(s) not found in {folder}: {', '.join(missing)}",
            f"Set the folder with --vars.{var} PATH (it must hold {', '.join(files)}), "
            f"or copy the files to {folder}. See README.md.",
            exits=1,
        )
    msg.good(f"Found {', '.join(files)} in {folder} (--vars.{var})")
