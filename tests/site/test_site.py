"""The built site, as readers use it: headless Chromium (Debian's package) driven by Playwright.

The site is built here, without executing notebooks (``book/build.py --no-execute``), into a
temporary folder and served on 127.0.0.1. Screenshots go to ``_build/test-artifacts/``.
"""

import functools
import importlib.util
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "_build" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LINK_ATTRS = {"a": "href", "link": "href", "script": "src", "img": "src", "iframe": "src",
              "source": "src"}  # fmt: skip
# Elements whose URL the browser fetches to render the page (not links the reader may follow).
RESOURCE_TAGS = {"link", "script", "img", "iframe", "source"}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def load_book_build() -> ModuleType:
    """``book/build.py`` as a module (``book/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Page(HTMLParser):
    """The URLs, element ids, twin link and ``lang`` of one HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()
        self.twin: str | None = None
        self.lang: str | None = None
        self.refresh: str | None = None  # where a <meta http-equiv="refresh"> sends the reader
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "html":
            self.lang = attrs.get("lang")
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            self.refresh = attrs["content"].split("url=", 1)[1].strip()
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
# Every visit waits for what it measures (the load event, MathJax's typesetting, the fonts in use,
# rendered widgets) and every request check is one that cannot race: a request cut short because
# the test moved on to the next page is no failure of the site, but every local URL a page asks
# for must be a file of the site, and no request may leave it.

SETTLE = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        await MathJax.startup.promise;
    }
    await document.fonts.ready;
}"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """``directory`` served over HTTP on 127.0.0.1, as GitHub Pages serves the site; its URL."""
    handler = functools.partial(QuietHandler, directory=directory)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()


@pytest.fixture(scope="module")
def server(site) -> Iterator[str]:
    with serve(site) as url:
        yield url


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


def open_tab(browser, base: str, root: Path, width: int = 1280, height: int = 900):
    """A tab that may reach only ``base`` (served from ``root``) and records what goes wrong:
    ``offsite`` requests (blocked), ``failed`` local requests (an error status, a missing file,
    a failure other than being cut short by the next navigation) and ``errors`` (console errors
    and uncaught exceptions), each with the page it happened on."""
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    tab.offsite, tab.failed, tab.errors, tab.requested = [], [], [], set()

    def route(r) -> None:
        url = r.request.url
        if url.startswith((base, "data:", "blob:")):
            if url.startswith(base):
                tab.requested.add(url)
            r.continue_()
        else:
            tab.offsite.append(f"{tab.url}: {url}")
            r.abort()

    def request_failed(request) -> None:
        if request.url.startswith(base) and request.failure != "net::ERR_ABORTED":
            tab.failed.append(f"{tab.url}: {request.url} ({request.failure})")

    context.route("**/*", route)
    tab.on("requestfailed", request_failed)
    tab.on("response", lambda res: res.status >= 400
           and tab.failed.append(f"{tab.url}: {res.url} ({res.status})"))  # fmt: skip
    tab.on("console", lambda msg: msg.type == "error"
           and tab.errors.append(f"{tab.url}: {msg.text} at {msg.location.get('url')}"))  # fmt: skip
    tab.on("pageerror", lambda exc: tab.errors.append(f"{tab.url}: uncaught {exc}"))
    tab.base, tab.root = base, root
    return tab


def visit(tab, path: str) -> None:
    """Open ``path`` and wait until it has settled: loaded (after its redirect, if it has one),
    maths typeset, fonts in."""
    tab.goto(tab.base + path, wait_until="load")
    file = tab.root / (path or "index.html")
    if file.suffix == ".html" and (refresh := parse(file).refresh):
        tab.wait_for_url(urljoin(tab.base + path, refresh), wait_until="load")
    tab.evaluate(SETTLE)


def problems(tab) -> list[str]:
    """Everything that went wrong in this tab, one line each (empty: all is well)."""
    missing = []
    for url in sorted(tab.requested):
        path = unquote(urlsplit(url).path).lstrip("/")
        target = tab.root / path
        if not (target / "index.html" if not path or path.endswith("/") else target).is_file():
            missing.append(f"asked for {url}: no such file in the site")
    return ([f"off-site request {u}" for u in tab.offsite] + tab.failed + missing
            + [f"console error {e}" for e in tab.errors])  # fmt: skip


@pytest.fixture
def page(browser, server, site):
    context_tab = open_tab(browser, server, site)
    yield context_tab
    context_tab.context.close()


def test_every_page_works_offline_without_console_errors(site, page):
    """Every page of the site loads everything it needs from the site, and logs no error."""
    paths = [p.relative_to(site).as_posix() for p in pages(site)]
    assert len(paths) >= 40
    for path in paths:
        visit(page, path)
    assert len(page.requested) > 100  # the check saw the requests
    assert problems(page) == []


NOTEBOOK_WITH_WIDGET = "probe"


@pytest.fixture(scope="module")
def widget_book(tmp_path_factory) -> Path:
    """A one-page book built as ``book/build.py`` builds each language (same configuration and
    extensions), from a notebook saved with a slider's widget state and some maths, as myst-nb
    writes an executed chapter with widgets: the HTML folder."""
    import ipywidgets
    import nbformat
    from ipywidgets.embed import embed_data

    build = load_book_build()
    book = tmp_path_factory.mktemp("widget-book")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    (book / "_config.yml").write_text(
        yaml.safe_dump(build.language_config(config, "en", execute=False), sort_keys=False),
        encoding="utf-8",
    )
    (book / "_toc.yml").write_text(yaml.safe_dump(
        {"format": "jb-book", "root": "index", "chapters": [{"file": NOTEBOOK_WITH_WIDGET}]}))  # fmt: skip
    (book / "index.md").write_text("# Probe\n")
    data = embed_data(views=[ipywidgets.IntSlider(value=7, max=10, description="T")])
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["widgets"] = {WIDGET_STATE: data["manager_state"]}
    cell = nbformat.v4.new_code_cell("slider", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": data["view_specs"][0],
        "text/plain": "IntSlider(value=7)"})]  # fmt: skip
    table = nbformat.v4.new_code_cell("Markdown(table)", execution_count=2)
    table.outputs = [nbformat.v4.new_output("display_data", data={
        "text/markdown": "| policy | reward |\n|---|---|\n| SFT | 0.28 |", "text/plain": "table"})]  # fmt: skip
    notebook.cells = [nbformat.v4.new_markdown_cell("# Widgets\n\n$\\sum_i p_i = 1$"), cell, table]
    nbformat.write(notebook, book / f"{NOTEBOOK_WITH_WIDGET}.ipynb")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    subprocess.run([str(jupyter_book), "build", str(book), "-W", "-n"], check=True,
                   capture_output=True)  # fmt: skip
    return book / "_build" / "html"


def test_a_markdown_table_a_cell_displays_is_a_table(widget_book):
    """The RLHF table and the report card are Markdown that cells display: on the page they must
    be tables, not lines of pipes."""
    page = (widget_book / f"{NOTEBOOK_WITH_WIDGET}.html").read_text(encoding="utf-8")
    assert "<table" in page and "| policy |" not in page


def test_widget_scripts_load_in_order(widget_book):
    """On a page with widgets, RequireJS comes before the widget manager that calls its define()
    (the other way round: "define is not defined" and empty widgets), both from the site."""
    scripts = [url for tag, url in parse(widget_book / f"{NOTEBOOK_WITH_WIDGET}.html").urls
               if tag == "script"]  # fmt: skip
    names = [Path(urlsplit(url).path).name for url in scripts if "_vendor/" in url]
    assert names == ["tex-chtml.js", "require.js", "embed-amd.js"], scripts


def test_vendored_mathjax_and_widgets_render_offline(browser, widget_book):
    """Maths and the slider render from the site's own MathJax, RequireJS and widget manager,
    with no console error (the page as myst-nb writes an executed chapter with widgets)."""
    with serve(widget_book) as base:
        tab = open_tab(browser, base, widget_book)
        try:
            visit(tab, f"{NOTEBOOK_WITH_WIDGET}.html")
            tab.wait_for_selector("mjx-container", timeout=15_000)
            tab.wait_for_selector(".widget-slider", state="visible", timeout=15_000)
            assert tab.locator(".widget-readout").first.inner_text().strip() == "7"
            assert tab.locator(".widget-label").first.inner_text().strip() == "T"
            assert tab.locator(".widget-slider").first.bounding_box()["width"] > 100
            assert problems(tab) == []
        finally:
            tab.context.close()


HEADER_ITEMS = """() => {
    const box = e => { const r = e.getBoundingClientRect();
        return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
    const shown = e => e.checkVisibility() && e.getBoundingClientRect().width > 0;
    const items = [...document.querySelectorAll(
        '.header-article-items__start .btn, .article-header-buttons > .dropdown > .btn, '
        + '.article-header-buttons > .btn, a.llmbook-twin-link')].filter(shown);
    const title = document.querySelector('article h1');
    return {
        items: items.map(e => ({name: `${e.className} in ${e.parentElement.className}`,
                                ...box(e)})),
        bar: box(document.querySelector('.bd-header-article')),
        navbar: box(document.querySelector('header.bd-header')),
        title: box(title),
        width: document.documentElement.clientWidth,
    };
}"""


def overlap(a: dict, b: dict) -> bool:
    """Whether two boxes share some area (touching edges do not count)."""
    return (min(a["right"], b["right"]) - max(a["left"], b["left"]) > 0.5
            and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 0.5)  # fmt: skip


@pytest.mark.parametrize("width", [390, 1280, 1920])
@pytest.mark.parametrize("lang", ["ko", "en"])
def test_header_buttons_fit_the_top_bar(browser, server, site, lang, width):
    """On a phone, a laptop and a wide screen, the header's buttons and the language switch are
    all in view, inside the article's top bar, clear of the site's navigation bar, of the page
    title and of each other (measured boxes; screenshots for people)."""
    tab = open_tab(browser, server, site, width=width)
    try:
        visit(tab, f"{lang}/chapters/{lang}/01_intro.html")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"header-{lang}-{width}.png"))
        found = tab.evaluate(HEADER_ITEMS)
        items, bar = found["items"], found["bar"]
        names = " ".join(item["name"] for item in items)
        for wanted in ("primary-toggle", "dropdown-launch-buttons", "source-repository-button",
                       "dropdown-download-buttons", "llmbook-twin-link"):  # fmt: skip
            assert wanted in names, (wanted, names)
        assert len(items) >= 6, names
        for item in items:
            assert 0 <= item["left"] and item["right"] <= found["width"], item
            assert bar["top"] <= item["top"] and item["bottom"] <= bar["bottom"], (item, bar)
            assert not overlap(item, found["navbar"]), (item, found["navbar"])
            assert not overlap(item, found["title"]), (item, found["title"])
        for i, a in enumerate(items):
            for b in items[i + 1 :]:
                assert not overlap(a, b), (a, b)
        assert problems(tab) == []
    finally:
        tab.context.close()


@pytest.mark.parametrize("width", [390, 1280, 1920])
def test_landing_page_shows_the_course_map(browser, server, site, width):
    """The landing page shows the course map in both languages, in view and whole, at every
    width, chapter boxes labelled in each language; the Korean map is drawn with a Korean font."""
    tab = open_tab(browser, server, site, width=width)
    try:
        visit(tab, "index.html")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"landing-{width}.png"), full_page=True)
        assert tab.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
        for lang, chapter in (("ko", "토큰화"), ("en", "Tokenization")):
            maps = tab.locator(f'figure.course-map svg[lang="{lang}"]:visible')
            assert maps.count() == 1, lang
            box = maps.first.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["width"] > 200
            labels = maps.first.locator("g.chapter text").all_text_contents()
            assert chapter in labels and len(maps.first.locator("g.chapter").all()) == 9
        korean = tab.locator('figure.course-map svg[lang="ko"]:visible g.chapter text').nth(1)
        assert any(re.search(r"CJK|KR|Nanum|Gothic", f) for f in font_families(tab, korean))
        assert problems(tab) == []
    finally:
        tab.context.close()


def font_families(tab, locator) -> list[str]:
    """The fonts Chromium drew an element's text with (those that drew at least one glyph)."""
    handle = locator.element_handle()
    handle.evaluate("e => e.setAttribute('data-font-probe', '1')")
    cdp = tab.context.new_cdp_session(tab)
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "[data-font-probe]"})
    cdp.send("CSS.enable")
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    handle.evaluate("e => e.removeAttribute('data-font-probe')")
    return [f["familyName"] for f in fonts if f["glyphCount"] > 0]


def test_language_switch_in_the_browser(server, page):
    """A reader clicks the switch on a Korean chapter, lands on the English one, and goes back
    (every page's links are checked above; this checks the button is there and clickable)."""
    start = server + "ko/chapters/ko/01_intro.html"
    visit(page, "ko/chapters/ko/01_intro.html")
    with page.expect_navigation(wait_until="load"):
        page.click("a.llmbook-twin-link")
    assert page.url == server + "en/chapters/en/01_intro.html"
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation(wait_until="load"):
        page.click("a.llmbook-twin-link")
    assert page.url == start
    assert problems(page) == []


def search_results(page, server: str, lang: str, query: str) -> list[str]:
    page.goto(f"{server}{lang}/search.html?q={query}")
    page.wait_for_selector("#search-results ul.search li", timeout=30_000)
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
        visit(page, url)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=name == "landing")
    for url, selector in [("index.html", "h1"), ("ko/chapters/ko/01_intro.html", "article h1")]:
        visit(page, url)
        families = font_families(page, page.locator(selector).first)
        assert any(re.search(r"CJK|KR|Nanum|Gothic", f) for f in families), (url, families)


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


# --- the playground: the shipped models in the browser -----------------------------------------
# The page's JavaScript must give the ids that Python gives: the prompt's tokens and the greedy
# continuation, for every model, in both languages (llmbook.playground.prompt_ids / complete).

PLAYGROUND_PROMPTS = {
    "base": {"ko": "국민의 권리와 의무는", "en": "The king said"},
    "sft": {"ko": "이 수사를 영어 단어로 옮겨 주세요.\n일곱", "en": "Give me this word in all caps.\nriver"},
    "grpo": {"ko": "6 더하기 7의 값은 얼마인가요?", "en": "What is 6 plus 7?"},
    "grpo-nokl": {"ko": "다은에게 꽃에 대해 감사 인사를 해 주세요.", "en": "Thank Paul for the flowers."},
    "dpo": {"ko": "1 더하기 2의 값은 얼마인가요?", "en": "What is 1 plus 2?"},
    "reasoner": {"ko": "사과가 12개 있었다. 5개를 먹었다. 몇 개 남았나?",
                 "en": "I had 12 apples and ate 5. How many are left?"},
}  # fmt: skip


def open_playground(tab, path: str) -> None:
    visit(tab, path)
    tab.wait_for_selector(".llmbook-playground[data-ready='1']", timeout=60_000)


def shot_on_failure(tab, name: str):
    """A context that saves a screenshot of ``tab`` to _build/test-artifacts/ if the body fails."""

    @contextmanager
    def guard():
        try:
            yield
        except BaseException:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            print(f"screenshot: {ARTIFACTS / f'{name}.png'}")
            raise

    return guard()


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_playground_gives_pythons_tokens_and_greedy_continuation(site, page, lang):
    from llmbook import playground

    open_playground(page, f"{lang}/chapters/{lang}/playground.html")
    assert set(PLAYGROUND_PROMPTS) == set(playground.MODELS)
    with shot_on_failure(page, f"playground-{lang}"):
        for name, prompts in PLAYGROUND_PROMPTS.items():
            prompt = prompts[lang]
            page.select_option("[data-testid=model]", name)
            page.wait_for_selector(".llmbook-playground[data-ready='1']", timeout=60_000)
            page.fill("[data-testid=prompt]", prompt)
            want = playground.prompt_ids(name, prompt)
            page.wait_for_selector(f"[data-testid=tokens][data-ids='{','.join(map(str, want))}']",
                                   timeout=10_000)  # fmt: skip
            assert page.locator("[data-testid=next] .row").count() == 10
            assert page.is_checked("[data-testid=greedy]")
            page.click("[data-testid=generate]")
            done = page.wait_for_selector("[data-testid=continuation][data-done='1']",
                                          timeout=60_000)  # fmt: skip
            got = [int(i) for i in done.get_attribute("data-ids").split(",")]
            assert got == playground.complete(name, prompt), (name, prompt)
        assert problems(page) == []


def test_playground_tokenizer_gives_our_ids_on_the_corpus(site, page):
    """The browser's BPE encoder against BPETokenizer on the whole Korean corpus, English text
    and the characters where JavaScript's and Python's regular expressions differ."""
    from llmbook import corpus
    from llmbook.tokens import default_tokenizer

    texts = [corpus.load("ko"), corpus.load("en")[:150_000],
             "don't DON'T We'll \u00a0x\u0085y\ufeffz\u3000\t\n\n  end  ",
             "🙂👍🏽 naïve café 1234567 ٣٤٥ ½ 한글\r\n줄 <|endoftext|>"]  # fmt: skip
    open_playground(page, "en/chapters/en/playground.html")
    got = page.evaluate("""async (texts) => {
        const spec = await LLMBookPlayground.load('tokenizer', 'tokenizer.js');
        const tok = new LLMBookPlayground.Tokenizer(spec, {});
        return texts.map((t) => tok.encodeOrdinary(t));
    }""", texts)  # fmt: skip
    tok = default_tokenizer()
    for text, ids in zip(texts, got):
        assert ids == tok.encode_ordinary(text), text[:40]
    assert sum(map(len, got)) > 50_000


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_playground_fits_a_phone(browser, server, site, lang):
    """At 390 px wide nothing sticks out sideways; the screenshot is kept for a look."""
    tab = open_tab(browser, server, site, width=390, height=844)
    try:
        open_playground(tab, f"{lang}/chapters/{lang}/playground.html")
        tab.click("[data-testid=generate]")
        tab.wait_for_selector("[data-testid=continuation][data-done='1']", timeout=60_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"playground-390-{lang}.png"), full_page=True)
        overflow = tab.evaluate("""() => [...document.querySelectorAll('.llmbook-playground *')]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map((e) => e.tagName + '.' + e.className)""")  # fmt: skip
        assert overflow == []
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390
        ready_ms = int(tab.get_attribute(".llmbook-playground", "data-ready-ms"))
        print(f"playground usable {ready_ms} ms after the page was opened")
        assert ready_ms < 20_000  # a few seconds on a laptop; CI's 2 busy cores get headroom
        assert problems(tab) == []
    finally:
        tab.context.close()


def test_playground_embed_shows_only_the_views_asked_for(site, page):
    """The frame a chapter embeds (llmbook.playground.show on the site): one model, some views."""
    open_playground(page, "_playground/embed.html?lang=ko&views=tokens,next&model=sft")
    views = page.eval_on_selector_all("section[data-view]", "s => s.map((e) => e.dataset.view)")
    assert views == ["tokens", "next"]
    assert page.input_value("[data-testid=model]") == "sft"
    assert problems(page) == []
