"""nerkit annotate --engine ray: byte-for-byte the local engine's output
(fields, blank lines, BOM, CRLF, order across 2 actors), FILE:LINE errors with
no output (texts over --max-length too), --skip-invalid, the output never the
input, and the formats it leaves to the local engine. One local Ray instance
for the module (starting one costs seconds)."""
import json

import pytest

from .test_annotate import GOOD_LINE, invoke, make_nlp, model  # noqa: F401 - model is a fixture

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")


@pytest.fixture(scope="module", autouse=True)
def ray_session():
    yield
    ray.shutdown()


def test_ray_equals_local_txt_and_jsonl(model, tmp_path):  # noqa: F811
    from nerkit.annotate import annotate

    records = [{"id": i, "text": f"Peter {'x ' * (i % 7)}in Paris {i}", "meta": {"k": [i]}} for i in range(40)]
    jsonl = "\ufeff" + "\n".join(json.dumps(r, ensure_ascii=False) for r in records[:20]) + "\n\n  \n"
    jsonl += "\r\n".join(json.dumps(r) for r in records[20:]) + '\n{"text": "Ünï New York\u2028Paris"}'
    txt = "Peter flew from Paris\r\n\n   \nNew York\u2028Paris\nno entities\n"
    for name, data in (("in.jsonl", jsonl), ("in.txt", txt)):
        path = tmp_path / name
        path.write_text(data, encoding="utf8")
        result = invoke(model, path, tmp_path / f"ray-{name}.jsonl", "--engine", "ray", "--actors", "2")
        assert result.exit_code == 0, result.output
        annotate(make_nlp(), path, tmp_path / f"local-{name}.jsonl")
        ray_out = (tmp_path / f"ray-{name}.jsonl").read_bytes()
        assert ray_out == (tmp_path / f"local-{name}.jsonl").read_bytes()
        assert ray_out.count(b"\n") == (41 if name == "in.jsonl" else 5)
        assert "Texts" in result.stdout and "PER" in result.stdout


def test_ray_bad_line_and_skip_invalid(model, tmp_path):  # noqa: F811
    path = tmp_path / "in.jsonl"
    path.write_bytes(GOOD_LINE * 3 + b'{"text": 12}\n' + GOOD_LINE + b"\xff\n")
    result = invoke(model, path, tmp_path / "out.jsonl", "--engine", "ray")
    assert result.exit_code == 1
    assert f"{path}:4: field 'text' is not a string (got a number)" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
    result = invoke(model, path, tmp_path / "out.jsonl", "--engine", "ray", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.jsonl").read_text().count("\n") == 4
    assert f"{path}:6: not valid UTF-8" in result.stdout


def test_ray_leaves_conll_and_docbin_to_local(model, tmp_path):  # noqa: F811
    (tmp_path / "in.txt").write_text("Peter\n")
    (tmp_path / "in.conll").write_text("Peter NNP B-PER\n")
    result = invoke(model, tmp_path / "in.conll", tmp_path / "out.jsonl", "--engine", "ray")
    assert result.exit_code == 2 and "local engine" in result.output
    result = invoke(model, tmp_path / "in.txt", tmp_path / "out.spacy", "--engine", "ray")
    assert result.exit_code == 2 and "local engine" in result.output
    result = invoke(tmp_path / "nope", tmp_path / "in.txt", tmp_path / "out.jsonl", "--engine", "ray")
    assert result.exit_code == 1 and "Cannot load the pipeline" in result.output


def test_ray_text_over_max_length_and_output_is_input(model, tmp_path):  # noqa: F811
    path = tmp_path / "in.jsonl"
    path.write_bytes(GOOD_LINE + b'{"text": "Peter in Paris, Peter in Paris"}\n' + GOOD_LINE)
    result = invoke(model, path, tmp_path / "out.jsonl", "--engine", "ray", "--max-length", "20")
    assert result.exit_code == 1
    assert f"{path}:2: text of 30 characters exceeds the pipeline's max_length (20); " in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
    result = invoke(model, path, tmp_path / "out.jsonl", "--engine", "ray", "--max-length", "20", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.jsonl").read_text().count("\n") == 2
    from nerkit.annotate.ray import annotate_ray

    with pytest.raises(ValueError, match="is the input file"):
        annotate_ray(str(model), path, path)
    assert path.read_bytes().count(b"\n") == 3
