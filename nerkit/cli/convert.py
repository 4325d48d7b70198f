"""``nerkit convert INPUT OUTPUT``: a CoNLL column file (or several, with
--append) to a spaCy DocBin, keeping documents, sentences and entities
(``nerkit.conll.convert``). On invalid input it exits with code 1, prints
FILE:LINE: REASON and writes no output file."""
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg


def convert_command(
    # fmt: off
    input_path: Path = typer.Argument(..., help="CoNLL column file (token first, tag last; -DOCSTART- lines start documents)", exists=True, dir_okay=False),
    output_path: Path = typer.Argument(..., help="Output .spacy DocBin file (parent directories are created)", dir_okay=False),
    scheme: str = typer.Option("auto", "--scheme", "-s", help="Tag scheme: auto, iob1, iob2, bioes (iobes) or bilou"),
    tag_column: int = typer.Option(-1, "--tag-column", "-t", help="Index of the tag column; negative counts from the end"),
    n_sents: int = typer.Option(10, "--n-sents", "-n", help="Sentences per doc for files without -DOCSTART- lines"),
    keep_pos: bool = typer.Option(False, "--keep-pos", help="Put column 2 (POS) into token.tag_ (files with 3+ columns)"),
    lenient: bool = typer.Option(False, "--lenient", help="Repair tag scheme violations instead of failing (repairs are counted)"),
    stats_path: Optional[Path] = typer.Option(None, "--stats", help="Also write the summary as JSON to this file", dir_okay=False),
    lang: str = typer.Option("en", "--lang", "-l", help="Language code of the vocab (spacy.blank)"),
    append: Optional[List[Path]] = typer.Option(None, "--append", help="Another CoNLL file whose documents follow INPUT_PATH's in the output (repeatable), e.g. dev for a train+dev model", exists=True, dir_okay=False),
    # fmt: on
) -> None:
    """Convert a CoNLL file to a spaCy DocBin (.spacy), one Doc per document."""
    from nerkit.conll import ConllError, convert_conll, summary_rows

    paths = [input_path, *(append or [])]
    try:
        summary = convert_conll(paths, output_path, scheme=scheme, tag_column=tag_column, n_sents=n_sents,
                                keep_pos=keep_pos, lenient=lenient, lang=lang, stats_path=stats_path)
    except (ConllError, ValueError) as err:
        msg.fail("Invalid input, no output written")
        typer.echo(str(err), err=True)  # FILE:LINE: REASON: 'LINE', unwrapped
        raise typer.Exit(1)
    msg.table(summary_rows(summary), header=("", " + ".join(str(path) for path in paths)), divider=True)
    if summary["empty_docs"]:
        msg.warn(f"{summary['empty_docs']} -DOCSTART- document(s) held no tokens: no Doc for them")
    msg.good(f"Wrote {summary['docs']:,} docs to {output_path}", f"Stats: {stats_path}" if stats_path else "")
