"""One headless Chromium (Debian's `chromium` + `chromedriver`) driven by Selenium for the whole session.

Selenium calls block, and the dashboard under test runs on the test's own event loop, so tests make
them in a worker thread (`Page`). No driver or browser is ever downloaded: both paths are given.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Without the background-networking flags Chromium reaches for Google's services, which a closed
# network refuses (and which a test has no business calling anyway).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1360,1000",
    "--lang=en-US",
)


def chromium() -> Iterator[WebDriver]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        raise RuntimeError(
            f"{', '.join(missing)} missing: apt-get install chromium chromium-driver (.ci/run does)"
        )
    profile = tempfile.mkdtemp(prefix="ritm-chromium-")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _gone(element: WebElement) -> bool:
    """Whether the page that held `element` was replaced (newer Chromium says so in two ways)."""
    try:
        element.is_enabled()
    except (StaleElementReferenceException, WebDriverException):
        return True
    return False


class Page:
    """The browser, seen from an async test: every call runs in a thread while the loop serves."""

    def __init__(self, driver: WebDriver) -> None:
        self.driver = driver

    async def open(self, url: str) -> None:
        await asyncio.to_thread(self.driver.get, url)

    async def click(self, css: str) -> None:
        """Click a link or button that loads another page, and wait until it has."""
        await self.leave(lambda: self.driver.find_element(By.CSS_SELECTOR, css).click())

    async def type_in(self, css: str, text: str) -> None:
        """Type into a field and press Enter (a form that loads another page)."""
        await self.leave(lambda: self.driver.find_element(By.CSS_SELECTOR, css).send_keys(text + "\n"))

    async def leave(self, action: Callable[[], None], timeout_s: float = 10.0) -> None:
        def run() -> None:
            old = self.driver.find_element(By.TAG_NAME, "html")
            action()
            WebDriverWait(self.driver, timeout_s).until(lambda _: _gone(old))

        await asyncio.to_thread(run)

    async def find(self, css: str, timeout_s: float = 10.0) -> WebElement:
        wait = WebDriverWait(self.driver, timeout_s)
        return await asyncio.to_thread(
            wait.until, expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    async def text(self, css: str = "body") -> str:
        element = await self.find(css)
        return await asyncio.to_thread(lambda: element.text)

    async def path(self) -> str:
        url = await asyncio.to_thread(lambda: self.driver.current_url)
        return "/" + url.split("/", 3)[3]

    async def screenshot(self, target: Path, width: int = 1360) -> None:
        """The whole page (the window grows to its height, up to 3 000 px, for the shot)."""
        target.parent.mkdir(parents=True, exist_ok=True)

        def shoot() -> None:
            height = int(self.driver.execute_script("return document.documentElement.scrollHeight"))
            self.driver.set_window_size(width, min(height + 140, 3000))
            self.driver.save_screenshot(str(target))
            self.driver.set_window_size(width, 1000)

        await asyncio.to_thread(shoot)

    async def forget(self) -> None:
        await asyncio.to_thread(self.driver.delete_all_cookies)
