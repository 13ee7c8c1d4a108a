"""Recipe for the shipped bilingual tokenizer: the default 4,096-token BPE retrained on the
Korean then English training splits of :mod:`llmbook.corpus`
(:func:`llmbook.tokens.build_default`), written into ``llmbook/data/tokenizer/``.

``python -m llmbook.recipes.tokenizer`` (``llmbook build tokenizer``) prints the file's sha256; a
faithful rebuild gives the shipped file byte for byte.
"""

from __future__ import annotations

from llmbook.tokens import DEFAULT_PATH, build_default


def main() -> None:
    print(f"{DEFAULT_PATH}  sha256 {build_default()}")


if __name__ == "__main__":
    main()
