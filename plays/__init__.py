"""plays: customer-success playbooks as code.

Layers, in data-flow order (each imports only the ones before it; see
CONTRIBUTING.md and tests/test_layers.py): the shared base in this folder
(diagnostics, sources, rendering), ``plays.dsl`` (text -> AST),
``plays.compiler`` (AST -> typed plan), ``plays.lsp`` (the language
server; it needs only the front end), ``plays.runtime`` (plan +
snapshots -> events), ``plays.state`` (events + actions -> the live record, reports),
``plays.spectest`` (test files -> results), and ``plays.cli``.
"""

__version__ = "0.1.0"
LANGUAGE_VERSION = "1"


def _map_checkout_layers() -> None:
    """In a source checkout, find ``plays.dsl`` etc. in the checkout's top-level folders.

    ``python -m pytest`` (or ``python -m plays.cli``) run from the checkout's
    root puts that root first on ``sys.path``, so this ``plays/`` folder shadows
    an installed copy, and the layer folders beside it (``dsl/``, ``compiler/``,
    ...) are what setuptools' ``package-dir`` maps to ``plays.dsl``, ... when it
    installs. This finder maps exactly those layers, and nothing else of the
    checkout (``tests``, ``bench``, ``docs`` stay unimportable as ``plays.*``).
    Installed, the folders are not there and nothing is added.
    """
    import importlib.util
    import os
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    layers = {f"{__name__}.{name}": os.path.join(root, name) for name in _LAYERS}
    if not all(os.path.isfile(os.path.join(p, "__init__.py")) for p in layers.values()):
        return

    class _LayerFinder:
        @staticmethod
        def find_spec(fullname, path=None, target=None):
            folder = layers.get(fullname)
            if folder is None:
                return None
            return importlib.util.spec_from_file_location(
                fullname, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder]
            )

    sys.meta_path.insert(0, _LayerFinder())


_LAYERS = ("dsl", "compiler", "lsp", "runtime", "state", "spectest", "spark", "diff", "schemas")
_map_checkout_layers()
