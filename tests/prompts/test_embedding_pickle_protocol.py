"""A ``.pt`` embedding pickled with a protocol other than torch's default 2 no longer passes
torch's "Detected pickle protocol N ... please file an issue" warning to the user: protocol 3
loads silently, a protocol-4 pickle is refused with our one line only; still through
``weights_only=True``, so a file that would run code is refused and never unpickled."""

from __future__ import annotations

import pickle
import warnings

import torch

from video.prompts.embeddings import load_embedding_file, load_embeddings


class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_protocol_3_embedding_loads_without_torchs_warning(tmp_path):
    vectors = torch.randn(2, 16)
    torch.save({"string_to_param": {"*": vectors}}, tmp_path / "style.pt", pickle_protocol=3)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = load_embedding_file(tmp_path / "style.pt", dim=16)
    assert torch.equal(got, vectors)
    assert [str(w.message) for w in seen] == []


def test_a_pickle_that_runs_code_is_still_refused(tmp_path):
    marker = tmp_path / "PWNED"
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(_Evil(marker), protocol=4))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert load_embeddings(tmp_path) == {}
    msgs = [str(w.message) for w in seen]
    assert msgs == ["embedding skipped: evil.pt: not loadable with weights_only=True (UnpicklingError)"]
    assert not marker.exists()
