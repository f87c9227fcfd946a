"""climb-vilt: the ViLT and ViLT-BERT encoders of CLiMB as a climb-harness plugin.

Importing this package (or its hook module :mod:`climb_vilt.plugin`) does not import torch; the
encoders live in :mod:`climb_vilt.vilt` and :mod:`climb_vilt.vilt_bert`.
"""

__version__ = "0.3.0"
