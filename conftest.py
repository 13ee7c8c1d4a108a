"""pytest settings for the whole repository (unit tests and the nbval notebook runs).

The notebook kernels inherit this environment: CPU everywhere, and strict checks, so that a
solution notebook whose check fails raises and fails its nbval run.
"""

import os

os.environ.setdefault("LLMBOOK_DEVICE", "cpu")
os.environ.setdefault("LLMBOOK_STRICT_CHECKS", "1")
