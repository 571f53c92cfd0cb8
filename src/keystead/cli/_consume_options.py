"""The options ``keystead run`` and ``keystead secrets export`` share: where the
variables come from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

PathOption = Annotated[
    list[str] | None,
    typer.Option(
        "--path",
        "-p",
        help="Every field of this secret (mount/path), named in upper case "
        "(stripe_key -> STRIPE_KEY). Repeatable.",
        show_default=False,
    ),
]
EnvFileOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--env-file",
        "-e",
        help="A dotenv file; values keystead://mount/path#field are read from Keystead, "
        "others passed as written. Repeatable.",
        dir_okay=False,
        show_default=False,
    ),
]
MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        "-m",
        help="NAME=mount/path#field: one field under a name of your choice. Repeatable.",
        show_default=False,
    ),
]

__all__ = ["EnvFileOption", "MapOption", "PathOption"]
