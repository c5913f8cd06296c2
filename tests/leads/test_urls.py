"""Profile URL normalisation: one canonical form per person."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkseq.leads.urls import InvalidProfileUrl, normalize_profile_url

CANON = "https://www.linkedin.com/in/jane-doe"


@pytest.mark.parametrize(
    "raw",
    [
        "https://www.linkedin.com/in/jane-doe",
        "http://linkedin.com/in/jane-doe/",
        "linkedin.com/in/Jane-Doe",
        "https://fr.linkedin.com/in/jane-doe?trk=public#about",
        "https://m.linkedin.com/in/jane-doe/",
        "https://www.linkedin.com/mwlite/in/jane-doe",
        "https://www.linkedin.com/in/jane%2Ddoe/details/experience/",
        "  HTTPS://WWW.LINKEDIN.COM/IN/JANE-DOE  ",
    ],
)
def test_variants_meet(raw: str) -> None:
    assert normalize_profile_url(raw).url == CANON


def test_percent_encoded_unicode_handle() -> None:
    parsed = normalize_profile_url("https://www.linkedin.com/in/jos%C3%A9-garc%C3%ADa/")
    assert parsed.url == "https://www.linkedin.com/in/josé-garcía"


def test_sales_navigator_keeps_its_id_and_member_ids_keep_case() -> None:
    sales = normalize_profile_url("https://www.linkedin.com/sales/lead/ACwAAAB12x,NAME_SEARCH,x9")
    assert sales.url == "https://www.linkedin.com/sales/lead/ACwAAAB12x"
    assert sales.sales_navigator_id == "ACwAAAB12x"
    member = normalize_profile_url("linkedin.com/in/ACoAAABcdEfGhIjKlMnOpQrStUv/")
    assert member.url.endswith("/in/ACoAAABcdEfGhIjKlMnOpQrStUv")


def test_old_pub_urls_follow_the_redirect_rule() -> None:
    url = normalize_profile_url("http://www.linkedin.com/pub/john-smith/4/86a/b79").url
    assert url == "https://www.linkedin.com/in/john-smith-b7986a4"


def test_short_pub_urls_are_the_in_profile() -> None:
    url = normalize_profile_url("https://www.linkedin.com/pub/chlo%C3%A9-rossi-368c8a28/").url
    assert url == normalize_profile_url("https://www.linkedin.com/in/chloé-rossi-368c8a28").url


@pytest.mark.parametrize(
    "raw",
    ["", "https://www.linkedin.com/company/acme", "https://example.com/in/jane",
     "https://www.linkedin.com/in/", "https://www.linkedin.com/in/a%2Fb", "not a url at all"],
)  # fmt: skip
def test_not_profile_urls_are_refused(raw: str) -> None:
    with pytest.raises(InvalidProfileUrl):
        normalize_profile_url(raw)


handles = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9\-éüßİ]{2,30}", fullmatch=True)


@given(
    handle=handles,
    scheme=st.sampled_from(["", "http://", "https://", "HTTPS://"]),
    host=st.sampled_from(["linkedin.com", "www.linkedin.com", "de.linkedin.com", "m.linkedin.com"]),
    tail=st.sampled_from(["", "/", "?trk=x", "/#top", "/details/skills/", "?a=1&b=2#f"]),
    encode=st.booleans(),
)
def test_normalisation_is_idempotent_and_variants_meet(
    handle: str, scheme: str, host: str, tail: str, encode: bool
) -> None:
    from urllib.parse import quote

    shown = quote(handle, safe="") if encode else handle
    first = normalize_profile_url(f"{scheme}{host}/in/{shown}{tail}")
    plain = normalize_profile_url(f"https://www.linkedin.com/in/{handle.lower()}")
    assert first.url == plain.url
    assert normalize_profile_url(first.url) == first
