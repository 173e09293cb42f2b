"""An unset PUBLIC_BASE_URL follows the address served, so owners' links point where the service runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core import config
from app.core.config import Settings, override_settings


@pytest.fixture()
def restored() -> Iterator[None]:
    saved = config._current
    try:
        yield
    finally:
        config._current = saved


def test_unset_public_base_url_follows_host_and_port() -> None:
    assert Settings(port=9000).public_base_url == "http://127.0.0.1:9000"
    assert Settings(host="10.1.2.3", port=8100).public_base_url == "http://10.1.2.3:8100"
    assert Settings(host="0.0.0.0", port=9000).public_base_url == "http://127.0.0.1:9000"


def test_a_configured_public_base_url_is_kept() -> None:
    assert Settings(port=9000, public_base_url="https://footage.example").public_base_url == "https://footage.example"


def test_a_port_given_later_moves_a_derived_base_url_only(restored: None) -> None:
    config._current = Settings(port=8000)
    assert override_settings(port=9100).public_base_url == "http://127.0.0.1:9100"
    assert override_settings(log_level="debug").public_base_url == "http://127.0.0.1:9100"
    config._current = Settings(port=8000, public_base_url="https://footage.example")
    assert override_settings(port=9100).public_base_url == "https://footage.example"
