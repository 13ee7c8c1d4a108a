"""The built site, as readers use it: headless Chromium (Debian's package) driven by Playwright.

The site is built here, without executing notebooks (``book/build.py --no-execute``), into a
temporary folder and served on 127.0.0.1. Screenshots go to ``_build/test-artifacts/``.
"""

import functools
import json
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "_build" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LINK_ATTRS = {"a": "href", "link": "href", "script": "src", "img": "src", "iframe": "src",
              "source": "src"}  # fmt: skip
# Elements whose URL the browser fetches to render the page (not links the reader may follow).
RESOURCE_TAGS = {"link", "script", "img", "iframe", "source"}


class Page(HTMLParser):
    """The URLs, element ids, twin link and ``lang`` of one HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()
        self.twin: str | None = None
        self.lang: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "html":
            self.lang = attrs.get("lang")
        url = attrs.get(LINK_ATTRS.get(tag, ""))
        if url:
            self.urls.append((tag, url))
        if tag == "a" and "llmbook-twin-link" in (attrs.get("class") or ""):
            self.twin = attrs["href"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, str(ROOT / "book" / "build.py"), "--no-execute", "--build-dir", str(build)],
        check=True, capture_output=True,
    )  # fmt: skip
    return build / "html"


@functools.cache
def parse(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def pages(site: Path) -> list[Path]:
    """Every page a reader can open (not the theme's template fragments in _static/)."""
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)


def chapter_pages(site: Path) -> list[Path]:
    return sorted(p for p in pages(site) if re.search(r"/(chapters|exercises)/(ko|en)/", str(p)))


def local_target(page: Path, url: str) -> tuple[Path, str] | None:
    """The file (and fragment) a relative URL on ``page`` points at; None for other schemes."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("#"):
        return None
    target = (page.parent / unquote(parts.path)).resolve()
    return (target / "index.html" if url.endswith("/") else target), parts.fragment


def test_site_has_both_languages_and_the_landing_page(site):
    names = {p.relative_to(site).as_posix() for p in pages(site)}
    assert {"index.html", "ko/chapters/ko/01_intro.html", "en/chapters/en/01_intro.html",
            "ko/search.html", "en/search.html"} <= names  # fmt: skip
    assert parse(site / "ko/chapters/ko/01_intro.html").lang == "ko"
    assert parse(site / "en/chapters/en/01_intro.html").lang == "en"


def test_every_internal_link_resolves(site):
    broken, checked = [], 0
    for page in pages(site):
        for tag, url in parse(page).urls:
            found = local_target(page, url)
            if found is None:
                continue
            target, fragment = found
            checked += 1
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: <{tag}> {url} (no file)")
            elif fragment and target.suffix == ".html" and fragment not in parse(target).ids:
                broken.append(f"{page.relative_to(site)}: <{tag}> {url} (no id {fragment!r})")
    assert checked > 100
    assert not broken, "\n".join(broken)


def test_every_chapter_page_links_to_its_twin_and_back(site):
    chapters = chapter_pages(site)
    assert len(chapters) >= 4
    for page in chapters:
        rel = page.relative_to(site).as_posix()  # ko/chapters/ko/01_intro.html
        lang, folder, _, name = rel.split("/")
        other = "en" if lang == "ko" else "ko"
        assert parse(page).twin, f"{rel} has no link to its twin"
        twin, _ = local_target(page, parse(page).twin)
        assert twin.relative_to(site).as_posix() == f"{other}/{folder}/{other}/{name}", rel
        assert twin.is_file(), f"{rel}: twin {twin} missing"
        assert parse(twin).lang == other
        back, _ = local_target(twin, parse(twin).twin)
        assert back == page


def test_every_page_loads_its_resources_from_the_site(site):
    """No script, style sheet, image or frame comes from another host, on any page."""
    remote = [
        f"{page.relative_to(site)}: <{tag}> {url}"
        for page in pages(site)
        for tag, url in parse(page).urls
        if tag in RESOURCE_TAGS and (urlsplit(url).scheme or url.startswith("//"))
    ]
    assert not remote, "\n".join(remote)


# --- in the browser ---------------------------------------------------------------------------


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server(site):
    """The site served over HTTP on 127.0.0.1, as GitHub Pages serves it."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=site))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail(
            "the browser tests need Debian's chromium: apt-get install chromium fonts-noto-cjk"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    """A browser tab that may reach only the local server; every other request is blocked and
    recorded in ``tab.offsite``, every failed local one in ``tab.failed``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.offsite, tab.failed = [], []

    def route(r):
        if r.request.url.startswith((server, "data:", "blob:")):
            r.continue_()
        else:
            tab.offsite.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    tab.on("requestfailed", lambda req: req.url.startswith(server) and tab.failed.append(req.url))
    tab.on("response", lambda res: res.status >= 400 and tab.failed.append(res.url))
    yield tab
    context.close()


def test_no_page_asks_for_the_network(site, server, page):
    for path in pages(site):
        page.goto(server + path.relative_to(site).as_posix(), wait_until="networkidle")
    assert page.offsite == []
    assert page.failed == []


def test_vendored_mathjax_and_widgets_render_offline(site, server, page):
    """Math and ipywidgets, as myst-nb writes them on an executed chapter's page, render from the
    site's own copies of MathJax, RequireJS and the widget manager."""
    import ipywidgets
    from ipywidgets.embed import embed_data

    slider = ipywidgets.IntSlider(value=7, max=10, description="T")
    data = embed_data(views=[slider])
    probe = site / "ko" / "probe.html"
    probe.write_text(f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<script src="_vendor/requirejs/require.js"></script>
<script src="_vendor/html-manager/dist/embed-amd.js"></script>
<script type="application/vnd.jupyter.widget-state+json">{json.dumps(data["manager_state"])}</script>
<script defer src="_vendor/mathjax/es5/tex-chtml.js"></script>
</head><body><p id="math">\\(\\sum_i p_i = 1\\)</p>
<script type="application/vnd.jupyter.widget-view+json">{json.dumps(data["view_specs"][0])}</script>
</body></html>""", encoding="utf-8")  # fmt: skip
    try:
        assert (site / "ko/_vendor/mathjax/es5/tex-chtml.js").is_file()
        page.goto(server + "ko/probe.html", wait_until="networkidle")
        page.wait_for_selector("#math mjx-container", timeout=15_000)
        page.wait_for_selector(".widget-slider", timeout=15_000)
        assert page.locator(".widget-readout").first.inner_text().strip() == "7"
    finally:
        probe.unlink()
    assert page.offsite == []
    assert page.failed == []


def test_language_switch_in_the_browser(server, page):
    """A reader clicks the switch on a Korean chapter, lands on the English one, and goes back
    (every page's links are checked above; this checks the button is there and clickable)."""
    start = server + "ko/chapters/ko/01_intro.html"
    page.goto(start)
    page.click("a.llmbook-twin-link")
    page.wait_for_load_state()
    assert page.url == server + "en/chapters/en/01_intro.html"
    assert page.locator("html").get_attribute("lang") == "en"
    page.click("a.llmbook-twin-link")
    page.wait_for_load_state()
    assert page.url == start


def search_results(page, server: str, lang: str, query: str) -> list[str]:
    page.goto(f"{server}{lang}/search.html?q={query}")
    page.wait_for_selector("#search-results ul.search li", timeout=15_000)
    links = page.locator("#search-results ul.search li a").evaluate_all(
        "links => links.map(a => a.href)"
    )
    return [urlsplit(link).path for link in links]


@pytest.mark.parametrize(
    "lang, query",
    [("ko", "모델"), ("ko", "토큰화"), ("ko", "확률"), ("en", "model"), ("en", "tokenization")],
)
def test_search_finds_a_term_in_chapter_one(server, page, lang, query):
    """Korean words are found without their particles ("모델" on a page that writes "모델은")."""
    found = search_results(page, server, lang, query)
    assert f"/{lang}/chapters/{lang}/01_intro.html" in found, found
    assert all(path.startswith(f"/{lang}/") for path in found)


def test_korean_renders_with_a_korean_font(site, server, page):
    """Korean text is drawn with a font that has Hangul (no tofu); screenshots for people."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = {"landing": "index.html", "ko-chapter": "ko/chapters/ko/01_intro.html",
             "en-chapter": "en/chapters/en/01_intro.html"}  # fmt: skip
    for name, url in shots.items():
        page.goto(server + url, wait_until="networkidle")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=name == "landing")
    for url, selector in [("index.html", "h1"), ("ko/chapters/ko/01_intro.html", "article h1")]:
        page.goto(server + url, wait_until="networkidle")
        cdp = page.context.new_cdp_session(page)
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        cdp.send("CSS.enable")
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        families = [f["familyName"] for f in fonts if f["glyphCount"] > 0]
        assert any(re.search(r"CJK|KR|Nanum|Gothic", f) for f in families), (url, fonts)


def test_launch_links_open_the_page_notebook(site):
    """Every notebook page's Colab and Binder buttons open that notebook in the repository."""
    notebook_pages = [p for p in chapter_pages(site)
                      if (ROOT / p.relative_to(site).with_suffix(".ipynb").as_posix()[3:]).is_file()]  # fmt: skip
    assert len(notebook_pages) >= 4
    for page in notebook_pages:
        notebook = page.relative_to(site).with_suffix(".ipynb").as_posix()[3:]  # chapters/ko/...
        links = {url for _, url in parse(page).urls}
        assert (f"https://colab.research.google.com/github/llmbook/llmbook/blob/main/{notebook}"
                in links), page  # fmt: skip
        assert f"https://mybinder.org/v2/gh/llmbook/llmbook/main?urlpath=tree/{notebook}" in links
