"""pytest settings for the whole repository (unit tests and the nbval notebook runs).

The notebook kernels inherit this environment: CPU everywhere, and strict checks, so that a
solution notebook whose check fails raises and fails its nbval run.
"""

import os

os.environ.setdefault("LLMBOOK_DEVICE", "cpu")
os.environ.setdefault("LLMBOOK_STRICT_CHECKS", "1")

# pytest-xdist runs one worker per core: one math thread each, or the workers (and the notebook
# kernels they start, which inherit this) oversubscribe the cores and slow down several-fold.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
