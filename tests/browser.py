"""Debian's chromium, headless, driven by selenium through Debian's chromedriver, for the
dashboard's tests. Nothing is downloaded: both binaries come from scripts/bootstrap.

Selenium's calls block, and the daemon under test runs on the test's event loop, so a
test runs its browser steps in a worker thread (`await asyncio.to_thread(steps)`).
Screenshots go to test-results/screenshots/ (or $STAXAD_SCREENSHOTS), one per page seen.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

SCREENSHOTS = Path(os.environ.get("STAXAD_SCREENSHOTS", Path(__file__).parent.parent / "test-results" / "screenshots"))


@contextlib.contextmanager
def chromium(*extra: str) -> Iterator[Browser]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # --no-sandbox: the tests run as root, where chromium's own sandbox cannot start.
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--disable-extensions",
        "--no-first-run",
        *extra,
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        yield Browser(driver)
    finally:
        driver.quit()


class Browser:
    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    def open(self, url: str) -> None:
        self.driver.get(url)

    def find(self, css: str, timeout: float = 10) -> WebElement:
        return WebDriverWait(self.driver, timeout).until(lambda d: d.find_element(By.CSS_SELECTOR, css))

    def click(self, css: str, timeout: float = 10) -> None:
        """Click the element `css` names, found again if the page re-rendered it meanwhile."""

        def attempt(d: webdriver.Chrome) -> bool:
            try:
                d.find_element(By.CSS_SELECTOR, css).click()
            except (StaleElementReferenceException, NoSuchElementException):
                return False
            return True

        WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(attempt)

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def until(self, check: Callable[[], object], timeout: float = 10, what: str = "") -> object:
        def attempt(_: object) -> object:
            try:
                return check()
            except StaleElementReferenceException:
                return False  # the page re-rendered that part; ask again

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(attempt)
        except TimeoutException:
            shown = self.text_of("main")[:2000]
            console = "\n".join(self.errors())
            raise AssertionError(
                f"waited {timeout} s for {what or 'a change'} at {self.driver.current_url}; the page says:\n{shown}"
                f"\nthe console says:\n{console}"
            ) from None

    def text_of(self, css: str) -> str:
        found = self.all(css)
        return found[0].text if found else ""

    def fill(self, form: str, **values: str) -> None:
        for name, value in values.items():
            field = self.find(f"{form} [name={name}]")
            if field.tag_name == "select":
                field.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
            else:
                field.clear()
                field.send_keys(value)
        self.click(f"{form} button[type=submit]")

    def sign_in(self, base: str, key: str) -> None:
        self.open(base + "/")
        self.fill("#sign-in", key=key)
        self.find("#sign-out")

    def script(self, code: str) -> object:
        return self.driver.execute_script(code)

    def errors(self) -> list[str]:
        """The console's errors so far (a CSP violation or an uncaught exception shows here)."""
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def screenshot(self, name: str) -> Path:
        """The whole page, not only the window: the window grows to the page for the shot."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        size = self.driver.get_window_size()
        height = int(self.script("return document.documentElement.scrollHeight") or size["height"])  # type: ignore[call-overload]
        self.driver.set_window_size(size["width"], max(height, size["height"]))
        try:
            self.driver.save_screenshot(str(path))
        finally:
            self.driver.set_window_size(size["width"], size["height"])
        return path
