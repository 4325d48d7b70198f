"""``nerkit package MODEL METRICS OUTPUT --name NAME --version VERSION``: a
trained pipeline as a pip-installable wheel with its test scores in meta.json
and nerkit's components inside (``nerkit.packaging.wheel``)."""
from pathlib import Path

import typer
from wasabi import msg


def package_command(
    # fmt: off
    model_path: Path = typer.Argument(..., help="Trained pipeline directory (e.g. training/.../model-best)", exists=True, file_okay=False),
    metrics_path: Path = typer.Argument(..., help="Evaluation report JSON from nerkit evaluate", exists=True, dir_okay=False),
    output_dir: Path = typer.Argument(..., help="Where the package folder goes (packages/)"),
    name: str = typer.Option(..., "--name", help="Package name without the language prefix"),
    version: str = typer.Option(..., "--version", help="Package version"),
    # fmt: on
) -> None:
    """Build packages/<lang>_<name>-<version>/dist/*.whl with test scores in meta.json."""
    from nerkit.packaging import PackagingError
    from nerkit.packaging.wheel import package_pipeline

    try:
        package_dir, vendored = package_pipeline(model_path, metrics_path, output_dir, name=name, version=version)
    except PackagingError as err:
        msg.fail(err.title, err.detail, exits=1)
    if vendored:
        msg.good(f"Copied nerkit's components into the package for {', '.join(vendored)}")
    package_name = package_dir.name[: -len(f"-{version}")]  # <lang>_<name>
    msg.good(f"Packaged {package_name} {version}", package_dir / "dist")
