"""The layers follow the data flow: each imports only the layers before it, no cycles, click only in the CLI.

Every product module's imports are read from its syntax tree, at the top level
and inside functions alike (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# In data-flow order. A module may import its own layer and the layers before it.
LAYERS = ("base", "dsl", "compiler", "lsp", "runtime", "state", "spectest", "spark", "diff", "cli")
# state, spectest, spark and diff are siblings: all come after the runtime, none uses another.
SIBLINGS = {frozenset(pair) for pair in (("state", "spectest"), ("state", "spark"), ("spectest", "spark"),
                                         ("state", "diff"), ("spectest", "diff"), ("spark", "diff"))}
# The language server (lsp) needs only the front end: it and every later layer but the CLI are siblings.
SIBLINGS |= {frozenset(("lsp", later)) for later in ("runtime", "state", "spectest", "spark", "diff")}
FOLDERS = {
    "dsl": "dsl",
    "compiler": "compiler",
    "lsp": "lsp",
    "runtime": "runtime",
    "state": "state",
    "spectest": "spectest",
    "spark": "spark",
    "diff": "diff",
    "schemas": "schemas",
    "cli": "plays/cli",
}


def layer_of(module: str) -> str:
    """``plays.compiler.lower`` -> ``compiler``; the modules of ``plays/`` itself are the base."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("dsl", "compiler", "lsp", "runtime", "state", "spectest", "spark", "diff", "cli"):
        return parts[1]
    return "base"  # plays, plays.diagnostics, plays.sources, plays.render, plays.schemas, ...


def product_modules() -> dict[str, Path]:
    """Module name -> file, for every module installed as ``plays.*``."""
    out = {}
    for f in (ROOT / "plays").rglob("*.py"):
        rel = f.relative_to(ROOT / "plays").with_suffix("")
        if "cli" in rel.parts:
            continue
        out[".".join(("plays", *rel.parts)).removesuffix(".__init__")] = f
    for name, folder in FOLDERS.items():
        for f in (ROOT / folder).rglob("*.py"):
            rel = f.relative_to(ROOT / folder).with_suffix("")
            out[".".join(("plays", name, *rel.parts)).removesuffix(".__init__")] = f
    return out


def imports_of(module: str, source: str, is_package: bool) -> set[str]:
    """Every module ``source`` imports, absolute, relative ones resolved, anywhere in the file."""
    found = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from plays.state import store` imports the module plays.state.store
            for a in node.names:
                found.add(f"{target}.{a.name}")
    return found


def graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the product modules it imports."""
    out = {}
    for name, path in modules.items():
        deps = imports_of(name, path.read_text("utf-8"), path.name == "__init__.py")
        # A module's own parent packages are imported before it anyway: not a dependency.
        parents = {name.rsplit(".", k)[0] for k in range(1, name.count(".") + 1)}
        out[name] = {d for d in deps if d in modules and d != name and d not in parents}
    return out


def violations(edges: dict[str, set[str]]) -> list[str]:
    """Imports against the flow: a module importing a later layer, or a sibling layer."""
    bad = []
    for src, deps in edges.items():
        a = layer_of(src)
        for dst in deps:
            b = layer_of(dst)
            if frozenset({a, b}) in SIBLINGS or LAYERS.index(b) > LAYERS.index(a):
                bad.append(f"{src} ({a}) imports {dst} ({b})")
    return sorted(bad)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


# --- the product ---------------------------------------------------------------------


def test_every_import_follows_the_data_flow():
    assert violations(graph(product_modules())) == []


def test_no_import_cycles():
    assert cycles(graph(product_modules())) == []


def test_click_only_in_the_cli_package():
    modules = product_modules()
    users = sorted(
        name for name, path in modules.items()
        if any(d == "click" or d.startswith("click.") for d in imports_of(name, path.read_text("utf-8"), path.name == "__init__.py"))
        and layer_of(name) != "cli"
    )
    assert users == []


def test_the_module_list_sees_every_layer():
    layers = {layer_of(m) for m in product_modules()}
    assert layers == set(LAYERS)


# --- the checks themselves, on small synthetic graphs ----------------------------------


def test_a_reintroduced_cycle_is_found():
    edges = {
        "plays.state.actions": {"plays.state.store"},
        "plays.state.store": {"plays.state.actions"},
        "plays.runtime.engine": {"plays.runtime.sql"},
        "plays.runtime.sql": set(),
    }
    assert cycles(edges) == [["plays.state.actions", "plays.state.store"]]


def test_a_longer_cycle_across_layers_is_found():
    edges = {
        "plays.compiler.plan": {"plays.sources"},
        "plays.sources": {"plays.compiler.driver"},
        "plays.compiler.driver": {"plays.compiler.plan"},
    }
    assert cycles(edges) == [["plays.compiler.driver", "plays.compiler.plan", "plays.sources"]]
    assert violations(edges) == ["plays.sources (base) imports plays.compiler.driver (compiler)"]


def test_imports_against_the_flow_are_found():
    edges = {
        "plays.runtime.actions": {"plays.state.store"},  # runtime -> state: backwards
        "plays.spectest.runner": {"plays.state.store"},  # siblings
        "plays.state.store": {"plays.runtime.engine"},  # forwards: fine
        "plays.runtime.engine": set(),
    }
    assert violations(edges) == [
        "plays.runtime.actions (runtime) imports plays.state.store (state)",
        "plays.spectest.runner (spectest) imports plays.state.store (state)",
    ]


def test_imports_inside_functions_and_relative_ones_count():
    source = "def f():\n    from .store import x\n    import click\n"
    found = imports_of("plays.state.actions", source, is_package=False)
    assert {"plays.state.store", "click"} <= found
    found = imports_of("plays.state", "from . import store\n", is_package=True)
    assert "plays.state.store" in found


def test_the_checkout_finder_maps_every_installed_layer():
    """plays/__init__.py maps the layer folders when the checkout's plays/ shadows the installed package
    (`python -m pytest` from the root, as CI runs it); a layer missing there is missing in CI only."""
    import tomllib

    import plays

    package_dir = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["package-dir"]
    folders = {folder for name, folder in package_dir.items() if name.count(".") == 1}
    assert set(plays._LAYERS) == folders
