"""Studies: the one library place where the routes meet (invariance, the d = 2 exception, Theorem 2).

The routes (``closed_form``, ``exact``, ``simulate``) never import each other; a study that needs
two of them to answer one question lives here. ``python -m linparity.studies`` prints the
invariance table and the d = 2 study.
"""
