"""climb-vl-minilm: a pretrained vision-language encoder for climb-harness that installs offline.

Importing this package (or its hook module :mod:`climb_vl_minilm.plugin`) does not import torch;
the encoder lives in :mod:`climb_vl_minilm.encoder`.
"""

__version__ = "0.2.0"
