"""``nerkit onnx MODEL OUTPUT [--int8]``: a copy of a trained pipeline whose
transformer runs in ONNX Runtime (``nerkit.components.onnx_runtime``). (Not
named onnx.py: run from this folder, that would shadow the onnx package.)"""
from pathlib import Path

import typer
from wasabi import msg


def onnx_command(
    # fmt: off
    model: str = typer.Argument(..., metavar="MODEL", help="The trained float pipeline (or an ONNX one, to quantize): a directory or an installed package name"),
    output: Path = typer.Argument(..., help="Directory for the ONNX pipeline (spacy.load-able, packageable)"),
    int8: bool = typer.Option(False, "--int8", help="Quantize the ONNX model: ONNX Runtime's dynamic int8 quantization, per-channel scales"),
    # fmt: on
) -> None:
    """Save a copy of a transformer pipeline whose transformer is an ONNX model run
    by ONNX Runtime on the CPU, in float32 or (--int8) with int8 weights. Loading it
    needs onnxruntime but no torch weights. Inference only. Needs nerkit's onnx
    extra: pip install 'nerkit[onnx]'. Score the copy (nerkit evaluate)
    before shipping it."""
    from nerkit.components.onnx_runtime import onnx_pipeline

    try:
        replaced = onnx_pipeline(model, output, int8=int8)
    except (ImportError, OSError, ValueError) as err:
        msg.fail(f"Cannot convert {model!r} to ONNX", str(err), exits=1)
    size = sum(path.stat().st_size for path in output.rglob("*") if path.is_file())
    kind = "int8" if int8 else "float32"
    msg.good(f"Saved the ONNX {kind} pipeline to {output} ({size / 1e6:.1f} MB); converted: {', '.join(replaced)}")
