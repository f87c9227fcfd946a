"""Samples per second of the harness against a bare PyTorch loop on a ViLT-B/32-sized model.

A GPU run (the default): ViLT-B/32's architecture (12 layers, width 768, 12 heads, FFN 3072, patch 32)
with random weights, images at CLiMB's 384 px, bf16 autocast, on easy-VQA colour questions; both
sides take the same pre-collated batches, AdamW and schedule (see ``benchmarks/throughput.py``,
which does the measuring). ``--cpu``: the same comparison with a small ViLT (2 layers, width 128,
64 px) so that it finishes on a laptop CPU; it checks the harness's overhead, not ViLT's speed.

    python benchmarks/gpu_throughput.py [--cpu] [--precision bf16|fp16|fp32] [--compile] [--repeats 3] [--json out.json]

``--compile`` compiles the encoder on both sides (``training.compile``); each repeat builds a new model,
so the compile time is inside every repeat's first epoch on both sides alike.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import throughput  # noqa: E402

VILT_B32 = {"num_hidden_layers": 12, "hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 3072,
            "image_size": 384, "patch_size": 32, "max_position_embeddings": 40}
SMALL = {"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2, "intermediate_size": 256,
         "image_size": 64, "patch_size": 16, "max_position_embeddings": 40}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="a small ViLT on the CPU")
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--examples", type=int, default=None)
    parser.add_argument("--compile", action="store_true", help="torch.compile the encoder on both sides")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    options, device = (SMALL, "cpu") if args.cpu else (VILT_B32, "cuda")
    precision = args.precision or ("fp32" if args.cpu else "bf16")
    examples = args.examples or (256 if args.cpu else 2048)
    argv = ["--encoder", "vilt", "--encoder-options", json.dumps(options), "--device", device, "--precision", precision,
            "--examples", str(examples), "--repeats", str(args.repeats), "--epochs", "1", "--batch-size", "32"]
    argv += ["--compile"] if args.compile else []
    report = throughput.main(argv + (["--json", str(args.json)] if args.json else []))
    batch = report["batch_size"]
    for side in ("bare", "harness"):
        rates = report[f"{side}_steps_per_s"]
        print(f"{side}: {sorted(r * batch for r in rates)[len(rates) // 2]:.1f} samples/s (median of {len(rates)})")


if __name__ == "__main__":
    main()
