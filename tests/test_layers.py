"""The package's layers, as import contracts: a module imports only from its own layer or the
layers below it, never in a cycle, and always at the top of the file (an import hidden in a
function hides a dependency from readers and from this test)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "llmbook"
# Bottom to top. A subpackage's modules belong to its layer.
LAYERS = [
    ("runtime and data", {"llmbook", "runtime", "plotting", "checkpoint", "metrics", "textproc",
                          "corpus", "data", "wordproblems", "preferences", "source"}),
    ("tokenizer", {"bpe", "tokenizer", "openai_encodings", "tokens"}),
    ("model", {"attention", "embedding", "gpt", "generation", "architectures", "memory", "ngram", "hmm",
               "word2vec", "lora", "quantize"}),
    ("training", {"engine", "train", "pretrain", "scaling", "rnn", "seq2seq"}),
    ("adaptation", {"classification", "instructions", "finetune"}),
    ("alignment and prompting", {"responses", "reward", "grpo", "dpo", "rlhf", "prompting", "documents",
                                 "search", "retrieval"}),
    ("shipped models", {"store"}),  # builds any shipped model, so above every architecture
    ("course tooling", {"diagrams", "widgets", "exercises", "notebooks", "sandbox", "sandbox_channel",
                        "sandbox_worker", "grading", "cli", "recipes", "playground", "web_export", "report"}),
]  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    """The layer of ``llmbook.x.y``: that of its first part (``llmbook`` itself is the bottom)."""
    head = module.split(".")[1] if "." in module else "llmbook"
    for i, (_, names) in enumerate(LAYERS):
        if head in names:
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def resolve(name: str) -> str:
    """The llmbook module an imported name lives in (``llmbook.gpt.GPT`` -> ``llmbook.gpt``)."""
    while name not in MODULES:
        name = name.rsplit(".", 1)[0]
    return name


def imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported llmbook module, line, inside a function?) for every import of ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    in_function = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for n in ast.walk(f)}  # fmt: skip
    package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([node.module] if node.module else []))  # fmt: skip
            names = [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name == "llmbook" or name.startswith("llmbook."):
                target = resolve(name)
                if target != module:
                    found.append((target, node.lineno, id(node) in in_function))
    return found


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer(module)


def test_no_import_is_hidden_in_a_function():
    hidden = [f"{m}:{line} imports {t}" for m in MODULES for t, line, local in imports(m) if local]
    assert not hidden, "\n".join(hidden)


def test_no_module_imports_from_a_layer_above_it():
    upward = [f"{m} ({LAYERS[layer(m)][0]}) imports {t} ({LAYERS[layer(t)][0]}), line {line}"
              for m in MODULES for t, line, _ in imports(m) if layer(t) > layer(m)]  # fmt: skip
    assert not upward, "\n".join(upward)


def test_no_import_cycle():
    graph = {m: sorted({t for t, _, _ in imports(m) if t != "llmbook"}) for m in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in graph[m]:
            if state.get(t) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(t):] + [t]))
            if t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m)


def test_the_contracts_can_fail(tmp_path, monkeypatch):
    """The checks above see a hidden import, an upward import and a cycle when there is one."""
    fake = {"llmbook.gpt": tmp_path / "gpt.py", "llmbook.train": tmp_path / "train.py"}
    fake["llmbook.gpt"].write_text("def f():\n    from llmbook.train import train\n")
    fake["llmbook.train"].write_text("from llmbook.gpt import GPT\n")
    monkeypatch.setattr(__import__(__name__), "MODULES", {**MODULES, **fake})
    assert imports("llmbook.gpt") == [("llmbook.train", 2, True)]
    assert layer("llmbook.train") > layer("llmbook.gpt")
    with pytest.raises(pytest.fail.Exception, match="cycle"):
        test_no_import_cycle()
