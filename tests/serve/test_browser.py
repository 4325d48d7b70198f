"""The page at / in a real headless browser (Debian's chromium and
chromium-driver; `make test` installs them where it can): type a sentence,
press the button, find the highlighted entities in the DOM. Also with an API
key, given the way a browser gives it (Basic auth)."""
import shutil

import pytest

from nerkit.serve import ServeSettings, create_app

from .conftest import make_nlp
from .live import live_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no chromium + chromedriver on PATH (Debian: apt-get install chromium chromium-driver; make test does it as root)",
)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def find_entities(browser, url: str, text: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 20).until(ec.text_to_be_present_in_element((By.ID, "meta"), "GPE"))
    browser.find_element(By.ID, "text").send_keys(text)
    browser.find_element(By.ID, "run").click()
    marks = WebDriverWait(browser, 20).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#result mark.entity") or False
    )
    return [(mark.get_attribute("data-label"), mark.text) for mark in marks], browser.find_element(By.ID, "result").text


def test_page_highlights_entities(browser):
    text = "Peter met <b>someone</b> in Paris."
    with live_server(create_app(make_nlp())) as url:
        marks, shown = find_entities(browser, url + "/", text)
    assert [label for label, _ in marks] == ["PER", "GPE"]
    assert marks[0][1].startswith("Peter") and marks[1][1].startswith("Paris")
    assert "<b>someone</b>" in shown  # the input is shown as text, never parsed as HTML


def test_page_with_api_key(browser):
    with live_server(create_app(make_nlp(), ServeSettings(api_key="s3cret"))) as url:
        marks, _ = find_entities(browser, url.replace("http://", "http://user:s3cret@") + "/", "Peter")
    assert marks and marks[0][0] == "PER"
