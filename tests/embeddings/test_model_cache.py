"""A process loads each model once: several indexes of one model share it, a changed folder is loaded again."""

from __future__ import annotations

import shutil
from pathlib import Path

from embeddings.encoder import PACKAGED_MODEL, open_encoder, packaged_model_path


def test_one_model_is_loaded_once_per_process() -> None:
    first = open_encoder(PACKAGED_MODEL, fallback=True)
    second = open_encoder(PACKAGED_MODEL, fallback=False)
    assert first.model is second.model
    assert (first.fallback, second.fallback) == (True, False)  # the encoders keep their own settings


def test_a_folder_that_changes_is_loaded_again(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(packaged_model_path(), folder)
    first = open_encoder(str(folder), fallback=False)
    assert open_encoder(str(folder), fallback=False).model is first.model
    readme = folder / "README.md"
    readme.write_text(readme.read_text("utf-8") + "\nReplaced in place.\n", "utf-8")
    again = open_encoder(str(folder), fallback=False)
    assert again.model is not first.model
    assert again.encode_queries(["Hà Nội"]).shape == (1, first.dim)
