"""The playground for the browser: files that run the shipped models with no server.

``data/playground/playground.js`` is our tokenizer and GPT forward pass written again in
JavaScript; :func:`export` writes what it reads: the store's fp16 safetensors files as they are,
the merge table with its split pattern rewritten for JavaScript's regular expressions
(:func:`js_pattern`), and a manifest with each model's prompt template and stop token (from
:data:`llmbook.playground.MODELS`). Each data file is a script that registers its contents, so the
page also works opened from disk (``file://``), where a browser refuses to fetch files.

Usage: ``python -m llmbook.web_export OUT`` writes a playground that opens from disk
(``OUT/embed.html``); ``book/build.py`` writes one into the site when :func:`export_key` changes.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import regex

from llmbook import playground, store
from llmbook.finetune import CHAT_TOKENS
from llmbook.playground import MODELS, stop_id, weights_file
from llmbook.tokens import default_tokenizer

ASSETS = Path(__file__).parent / "data" / "playground"  # playground.js, .css and embed.html

@functools.cache
def _whitespace_class() -> str:
    """Python's ``\\s`` as the body of a character class, in ranges: JavaScript's ``\\s``
    differs (it has U+FEFF, not U+0085)."""
    chars = [c for c in range(0x110000) if regex.fullmatch(r"\s", chr(c))]
    runs: list[list[int]] = []
    for c in chars:
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return "".join(f"\\u{a:04x}" + (f"-\\u{b:04x}" if b > a else "") for a, b in runs)


def js_pattern(pattern: str) -> str:
    """A split pattern in JavaScript's syntax (``u`` flag) that splits text the same way:
    possessive quantifiers become greedy (they match the same pieces in these patterns, which
    never need to backtrack into them), ``(?i:...)`` spells out both cases of its letters, and
    ``\\s``/``\\S`` are Python's whitespace."""
    ws = _whitespace_class()
    out, inside, ignore_case, quantified, i = [], False, False, False, 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("(?i:", i):
            out.append("(?:")
            ignore_case, quantified, i = True, False, i + 4
            continue
        if c == "\\":  # an escape, \\p{...} whole
            end = pattern.index("}", i) + 1 if pattern[i + 1] in "pP" else i + 2
            esc = pattern[i:end]
            out.append({"\\s": ws if inside else f"[{ws}]", "\\S": f"[^{ws}]"}.get(esc, esc))
            quantified, i = False, end
            continue
        if c == "+" and quantified and not inside:
            quantified, i = False, i + 1  # possessive -> greedy
            continue
        if ignore_case and c.isalpha():
            out.append(c.lower() + c.upper() if inside else f"[{c.lower()}{c.upper()}]")
        else:
            out.append(c)
        quantified = not inside and (c in "+*}" or (c == "?" and pattern[i - 1] != "("))
        if c == ")" and not inside:
            ignore_case = False
        inside = (inside or c == "[") and c != "]"
        i += 1
    return "".join(out)


def _script(key: str, value: object) -> str:
    return f"LLMBookPlayground.register({json.dumps(key)}, {json.dumps(value, ensure_ascii=False)});\n"


def export(out: str | os.PathLike) -> dict:
    """Write the browser playground into ``out``: the page's code (``playground.js``, ``.css``,
    ``embed.html``), ``manifest.js``, ``tokenizer.js`` and ``models/NAME.js``. Returns the
    manifest. Nothing is written if ``out`` exists but is not a folder."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} is a file: give a folder to export the playground into")
    (out / "models").mkdir(parents=True, exist_ok=True)
    for asset in ASSETS.iterdir():
        shutil.copyfile(asset, out / asset.name)
    base = default_tokenizer()
    spec = json.loads(base.to_json())
    spec["js_pattern"] = js_pattern(base.pattern)
    (out / "tokenizer.js").write_text(_script("tokenizer", spec), encoding="utf-8")
    models = {}
    for name, info in MODELS.items():
        raw = weights_file(name).read_bytes()
        (out / "models" / f"{name}.js").write_text(
            _script(f"model:{name}", base64.b64encode(raw).decode("ascii")), encoding="utf-8"
        )
        card = store.card(name)
        models[name] = {
            **{k: v for k, v in asdict(info).items() if k not in ("chat", "stop")},
            "file": f"models/{name}.js",
            "config": card.model_config,
            "parameters": card.parameters,
            "bytes": len(raw),
            "sha256": hashlib.sha256(raw).hexdigest(),
            "stop_id": stop_id(name),
            "extra_special_tokens": CHAT_TOKENS if info.chat else {},
        }
    manifest = {"models": models}
    (out / "manifest.js").write_text(_script("manifest", manifest), encoding="utf-8")
    return manifest


def export_key() -> str:
    """What the exported files depend on (the models, the tokenizer, the page's code, this module
    and the playground's models and templates): book/build.py exports again when it changes."""
    digest = hashlib.sha256()
    files = [*(weights_file(name) for name in MODELS), *sorted(ASSETS.iterdir()),
             Path(__file__), Path(playground.__file__)]  # fmt: skip
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(default_tokenizer().to_json().encode())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Export the browser playground into a folder "
                                     "(open FOLDER/embed.html, or serve it with the site)")  # fmt: skip
    parser.add_argument("out", type=Path, help="the folder to write (created if missing)")
    args = parser.parse_args(argv)
    manifest = export(args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"{args.out}: {len(manifest['models'])} models, {size / 1e6:.1f} MB; "
          f"open {args.out / 'embed.html'}")
    return manifest


if __name__ == "__main__":
    main()
