"""benchmarks/annotate_speed.py on an entity_ruler pipeline: the rows, the
files, the ratio column (local engine only; the Ray rows are tested for
equality in tests/annotate/test_ray.py)."""
import json

from benchmarks.annotate_speed import document_texts, main
from tests.serve.conftest import make_nlp
from tests.serve.test_cli import CONLL


def test_annotate_speed_writes_rows(tmp_path):
    make_nlp().to_disk(tmp_path / "model")
    (tmp_path / "test.conll").write_text(CONLL, encoding="utf8")
    assert document_texts(str(tmp_path / "test.conll")) == ["Peter flew to Paris . The European Commission met ."]
    out = tmp_path / "speed"
    assert main([str(tmp_path / "model"), str(tmp_path / "test.conll"), "--repeats", "2", "--actors", "",
                 "--out", str(out)]) == 0
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert [r["engine"] for r in rows] == ["bare nlp.pipe loop", "nerkit annotate (local)"]
    assert all(r["words_per_second"] > 0 and r["passes"] == 2 for r in rows)
    assert "| bare nlp.pipe loop |" in out.with_suffix(".md").read_text()
    assert json.loads(out.with_suffix(".json").read_text())["model_process_peak_rss_mb"] > 50
