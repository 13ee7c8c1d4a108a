"""The text the reader sees: markdown renders as written, Korean uses one term per concept.

Every markdown cell of every chapter and solution notebook (both languages; exercises are generated
from solutions) and the glossaries are rendered with
the parser the site uses (myst-parser's markdown-it, with the extensions listed in _config.yml).
CommonMark's flanking rules break Korean bold text that ends after a parenthesis or a percent sign
(`**보상 해킹(reward hacking)**이` shows its asterisks; `**어텐션(attention)** 은` splits the particle
off its noun); the fix is to close the bold before the parenthesis: `**보상 해킹**(reward hacking)이`.

The glossary's section "쓰지 않는 말" lists, for each concept with a chosen term, the variants the
chapters must not use; a variant in a Korean chapter's or solution's markdown fails here.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*/*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
ALL_NOTEBOOKS = sorted(p for f in ("chapters", "solutions", "exercises") for p in (ROOT / f).glob("*/*.ipynb"))
GLOSSARIES = [ROOT / "chapters" / lang / "glossary.md" for lang in ("ko", "en")]
KO_MARKDOWN_NOTEBOOKS = sorted(p for f in ("chapters", "solutions") for p in (ROOT / f / "ko").glob("*.ipynb"))

# One-syllable (and a few longer) Korean particles that must stick to the word before them.
PARTICLES = (
    "은 는 이 가 을 를 의 에 와 과 로 도 만 나 란 "
    "으로 에서 에게 까지 부터 보다 처럼 이나 이란 라고 이라고 마다 으로는 로는 에는 과의 와의 만큼"
).split()
HANGUL = "가-힣"
# What may follow a rejected variant for it to count as that word (else it is part of another word).
SUFFIXES = PARTICLES + "당 씩 이며 이고 입니다 이다".split()


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


@cache
def parser():
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    extensions = set(config["parse"]["myst_enable_extensions"])
    return create_md_parser(MdParserConfig(enable_extensions=extensions), RendererHTML)


def markdown_cells(path: Path) -> list[tuple[int, str]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"]


def visible_text(markdown: str) -> str:
    """The rendered HTML with code and math replaced by ∎ and tags other than <strong>/<em> removed."""
    html = parser().render(markdown)
    html = re.sub(r"<code>.*?</code>|<pre>.*?</pre>", "∎", html, flags=re.S)
    html = re.sub(r'<(span|div) class="math[^"]*">.*?</\1>', "∎", html, flags=re.S)
    return re.sub(r"<(?!/?(strong|em)>)[^>]*>", "", html)


PARTICLE_SPLIT = re.compile(rf"</strong>\s+({'|'.join(PARTICLES)})(?![{HANGUL}])")
# Bold that ends right after a closing parenthesis or other punctuation, followed by Hangul.
SOURCE_BOLD = re.compile(rf"\*\*[^*]+?[)%\]`]\*\*\s*[{HANGUL}]")


def rendering_problems(markdown: str) -> list[str]:
    problems = []
    text = visible_text(markdown)
    for m in re.finditer(r"\*\*", text):
        problems.append(f"literal ** in the rendered text: {text[max(0, m.start() - 30):m.end() + 30]!r}")
    for m in PARTICLE_SPLIT.finditer(text):
        problems.append(f"particle split off its word: {text[max(0, m.start() - 30):m.end() + 5]!r}")
    source = re.sub(r"`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$", "``", markdown, flags=re.S)
    for m in SOURCE_BOLD.finditer(source):
        problems.append(f"bold closed after punctuation before Hangul: {m.group(0)!r}")
    return problems


def test_rendering_check_catches_the_known_breakages():
    assert rendering_problems("**보상 해킹(reward hacking)**이 일어납니다.")
    assert rendering_problems("**어텐션(attention)** 은 연산입니다.")
    assert rendering_problems("**토큰화(tokenization)**\n라고 합니다.")
    assert rendering_problems("각 글의 **마지막 20%** 를 뗍니다.")
    assert not rendering_problems("**보상 해킹**(reward hacking)이 일어납니다.")
    assert not rendering_problems("글을 **이어 쓸** 뿐입니다. `a**b` 와 $a**b$ 는 코드와 수식입니다.")


@pytest.mark.parametrize("path", CHAPTERS + SOLUTIONS + GLOSSARIES, ids=rel)
def test_markdown_renders_as_written(path):
    cells = [(0, path.read_text(encoding="utf-8"))] if path.suffix == ".md" else markdown_cells(path)
    problems = [f"cell {i}: {p}" for i, text in cells for p in rendering_problems(text)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", KO_MARKDOWN_NOTEBOOKS, ids=rel)
def test_no_english_style_italics_in_korean(path):
    """Korean emphasis is bold or nothing: italic Hangul reads as a typo."""
    bad = [
        f"cell {i}: {m.group(0)!r}"
        for i, text in markdown_cells(path)
        for m in re.finditer(rf"<em>[^<]*[{HANGUL}][^<]*</em>", visible_text(text))
    ]
    assert not bad, "\n".join(bad)


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=rel)
def test_no_control_characters_in_cells(path):
    """A stray `\\b` in a Python string that wrote a cell leaves U+0008 (`$eta$` for `$\\beta$`)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    bad = [
        f"cell {i}: {ascii(s[max(0, m.start() - 20):m.end() + 20])}"
        for i, c in enumerate(nb["cells"])
        for s in ["".join(c["source"])]
        for m in CONTROL.finditer(s)
    ]
    assert not bad, "\n".join(bad)


@cache
def rejected_variants() -> dict[str, str]:
    """{rejected variant: chosen term}, read from the Korean glossary's "쓰지 않는 말" table."""
    text = (ROOT / "chapters" / "ko" / "glossary.md").read_text(encoding="utf-8")
    section = text.split("## 쓰지 않는 말", 1)[1]
    variants = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not line.startswith("|") or set(cells[0]) <= set("-: ") or cells[0] == "쓰는 말":
            continue
        for variant in cells[1].split(","):
            variants[variant.strip().strip("`")] = cells[0]
    return variants


def find_variants(text: str) -> list[str]:
    """Rejected variants used as words: followed by nothing Hangul, or by a particle or suffix."""
    found = []
    for variant, chosen in rejected_variants().items():
        for m in re.finditer(re.escape(variant), text):
            if m.start() and re.match(f"[{HANGUL}]", text[m.start() - 1]):
                continue  # inside a longer word, e.g. 발걸음
            rest = re.match(f"[{HANGUL}]*", text[m.end():]).group(0)
            if rest and not any(rest.startswith(s) for s in SUFFIXES):
                continue  # a different word, e.g. 머리글
            found.append(f"{variant!r} (use {chosen!r}): {text[max(0, m.start() - 30):m.end() + 30]!r}")
    return found


def test_glossary_lists_rejected_variants():
    variants = rejected_variants()
    for variant, chosen in [("파라미터", "매개변수"), ("걸음", "단계"), ("거부된", "거절된 답"), ("점곱", "내적")]:
        assert variants.get(variant, "").startswith(chosen), (variant, variants)
    assert find_variants("LoRA는 파라미터의 몇 %만 훈련하고, 몇십 걸음만으로도 충분합니다.")
    assert find_variants("두 벡터의 점곱은 크고, 점수 머리가 0으로 초기화됩니다.")
    assert not find_variants("매개변수를 세고, 머리글을 붙이고, 발걸음을 옮깁니다.")


@pytest.mark.parametrize("path", KO_MARKDOWN_NOTEBOOKS, ids=rel)
def test_korean_markdown_uses_the_glossary_terms(path):
    bad = [f"cell {i}: {f}" for i, text in markdown_cells(path) for f in find_variants(text)]
    assert not bad, "\n".join(bad)


def test_korean_glossary_uses_its_own_terms():
    text = (ROOT / "chapters" / "ko" / "glossary.md").read_text(encoding="utf-8").split("## 쓰지 않는 말")[0]
    assert not find_variants(text), find_variants(text)


def test_korean_strings_in_code_use_the_glossary_terms():
    """What a Korean page prints or draws (code cells of Korean notebooks, diagram labels, the
    checks' hints) uses the glossary's terms too."""
    import importlib
    import inspect
    import pkgutil

    import llmbook.diagrams

    bad = []
    for path in KO_MARKDOWN_NOTEBOOKS:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                bad += [f"{rel(path)}: {f}" for f in find_variants("".join(cell["source"]))]
    for info in pkgutil.iter_modules(llmbook.diagrams.__path__):
        module = importlib.import_module(f"llmbook.diagrams.{info.name}")
        for name, figure in inspect.getmembers(module, inspect.isfunction):
            if figure.__module__ == module.__name__ and not name.startswith("_"):
                labels = "\n".join(figure(lang="ko").labels)
                bad += [f"diagrams.{info.name}.{name}: {f}" for f in find_variants(labels)]
    for checks in sorted((ROOT / "llmbook" / "exercises").glob("ch*.py")):
        bad += [f"{rel(checks)}: {f}" for f in find_variants(checks.read_text(encoding="utf-8"))]
    assert not bad, "\n".join(bad)
