"""llmbook: the companion package of the course *Building a Large Language Model from Scratch*.

Chapters import from here; every function a chapter calls is tested in ``tests/``.
One module per idea: ``corpus`` (text data), ``plotting`` (figures with Korean labels),
``tokenizer``, ``attention``, ``gpt``, ``train``, ``exercises`` (graded checks), ...
"""

from llmbook.runtime import device, in_colab, seed, setup_cpu

__version__ = "0.1.0"
__all__ = ["device", "seed", "setup_cpu", "in_colab", "__version__"]

setup_cpu()

try:  # Korean labels in every figure, with no set-up in the notebook
    from llmbook import plotting as _plotting

    _plotting.use_korean_font()
except ImportError:  # matplotlib is missing: nothing to draw anyway
    pass
