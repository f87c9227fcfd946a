"""climb_vcr.sample: the tiny release loads in every split, is torch-free, and may be rewritten in place."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from climb_vcr.sample import write_sample_release


def test_sample_release_fills_every_split_with_every_label(make_task, tmp_path):
    root = write_sample_release(tmp_path / "new" / "vcr")
    assert write_sample_release(root) == root  # an existing folder is fine
    task = make_task(data_dir=str(root))
    for split in ("train", "val", "test"):
        assert set(Counter(e.target for e in task.examples(split))) == {0, 1, 2, 3}, split


def test_sample_module_does_not_import_torch_or_pil():
    code = "import sys, climb_vcr.sample; assert not {'torch', 'PIL'} & set(sys.modules), 'imported'"
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
