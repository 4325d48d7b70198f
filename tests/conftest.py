"""Shared fixtures: a tiny random BERT saved to disk, the --slow flag."""
import string
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONLL2003 = ROOT.parent / "shared" / "data" / "conll2003"


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def build_tiny_bert(path: Path) -> Path:
    """Save a 2-layer, 32-wide BERT with random weights and a small uncased
    word-piece vocabulary to `path`, loadable by name like any local model."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    words = "the a of in on to and said was will by for at with from he she it".split()
    pieces = list(string.ascii_lowercase + string.digits + string.punctuation)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = list(dict.fromkeys(specials + words + pieces + [f"##{c}" for c in pieces]))
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf8")
    tokenizer = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True, model_max_length=512)
    tokenizer.save_pretrained(path)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(path)
    return path


def tiny_search_config(tiny_bert: Path, path: Path) -> Path:
    """The default config on the tiny BERT with a schedule that learns in a few
    steps (no warmup, rate 1e-3, batches of 500 padded tokens), for searches."""
    from spacy.util import load_config

    config = load_config(ROOT / "configs" / "minilm_tokner_case_goldtok.cfg")
    config["components"]["transformer"]["model"]["name"] = str(tiny_bert)
    config["initialize"]["before_init"] = None
    config["initialize"]["after_init"]["mmap_threshold"] = 0  # process-wide: not in pytest's process (searches train in it)
    config["training"]["optimizer"]["learn_rate"].update(warmup_steps=0, initial_rate=0.001)
    config["training"]["batcher"]["size"] = 500
    config.to_disk(path)
    return path


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """Directory of a tiny random BERT (the test builds it; nothing is downloaded)."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def scored_model(tmp_path_factory) -> Path:
    """A token head (nerkit_token_ner, whose entities have scores) on a small
    CNN, trained on four sample snippets until it finds entities, saved."""
    import spacy

    from tests.components.test_token_ner import CNN_TOK2VEC, sample_examples, train

    nlp = spacy.blank("en")
    nlp.add_pipe("nerkit_token_ner", name="ner", config={"model": {"tok2vec": CNN_TOK2VEC}})
    train(nlp, sample_examples(nlp), steps=30)
    path = tmp_path_factory.mktemp("scored") / "model"
    nlp.to_disk(path)
    return path
