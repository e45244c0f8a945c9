"""The clip scorer without weights (the svd_lvd recipe ships none) leaves its columns null without
importing torch: each Ray worker paid 1.9 s and ~190 MB for it on every run. A fresh process,
since this one has torch already."""

import subprocess
import sys

SCRIPT = """
import sys, warnings
warnings.simplefilter("ignore")
from data_curation.clip_frames import read_clip
from data_curation.recipe import load_recipe
from data_curation.scorers.clip import Scorer
frames = read_clip(sys.argv[1], 0, 25, 25.0)
assert "torch" not in sys.modules, "imported before the scorer ran"
print(Scorer(load_recipe("svd_lvd")).score(frames), "torch" in sys.modules)
"""


def test_clip_scorer_without_weights_does_not_import_torch(montage):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(montage[0])], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["{'aesthetic':", "None,", "'clip_score':", "None,", "'caption':", "None}", "False"]
