"""The fast path of URL normalisation gives exactly what the general path gives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkseq.leads.urls import (
    InvalidProfileUrl,
    ProfileUrl,
    _normalize_general,
    normalize_profile_url,
)

_handle = st.text(alphabet="abcXYZ019_-é%.", min_size=0, max_size=24)
_prefix = st.sampled_from(
    ["https://www.linkedin.com/in/", "http://linkedin.com/in/", "https://fr.linkedin.com/in/",
     "HTTPS://WWW.LINKEDIN.COM/in/", "https://www.linkedin.com/IN/", "www.linkedin.com/in/"]
)  # fmt: skip
_suffix = st.sampled_from(["", "/", "?trk=x", "#top", "/details/experience/", "/ x", "\t", " "])


def _outcome(fn: object, raw: str) -> ProfileUrl | str:
    try:
        return fn(raw)  # type: ignore[operator,no-any-return]
    except InvalidProfileUrl:
        return "invalid"


@settings(max_examples=300)
@given(_prefix, _handle, _suffix)
def test_fast_and_general_paths_agree(prefix: str, handle: str, suffix: str) -> None:
    raw = prefix + handle + suffix
    assert _outcome(normalize_profile_url, raw) == _outcome(
        lambda r: _normalize_general(r, r.strip()), raw
    )


@pytest.mark.parametrize(
    "raw",
    [
        "https://www.linkedin.com/in/ACoAAB1234567890abcdefghij",
        "https://www.linkedin.com/in/Jane-Doe/",
    ],
)
def test_fast_path_keeps_member_ids_and_lowers_handles(raw: str) -> None:
    assert normalize_profile_url(raw) == _normalize_general(raw, raw.strip())
