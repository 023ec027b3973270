"""The dashboard's fixtures: one browser for the whole session (starting Chromium costs a second or two)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.web.browser_support import chromium


@pytest.fixture(scope="session")
def browser_driver() -> Iterator[WebDriver]:
    yield from chromium()
