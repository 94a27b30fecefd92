"""The import graph has no cycle, inside packages too: import-linter's layers contract
(pyproject.toml) sees only imports between the listed packages, so a circle of modules
inside one package (nn/layers <-> nn/conv) would pass it unseen."""

import grimp


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of ``graph`` with more than one module: each is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the glassnet modules it imports, at any place in the file (top level,
    inside functions, under TYPE_CHECKING). A package's ``__init__`` that re-exports its
    modules is an edge like any other."""
    graph = grimp.build_graph("glassnet")
    return {
        module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules
    }


def test_the_search_finds_a_cycle_when_there_is_one():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_glassnet_imports_no_module_that_imports_it_back():
    cycles = strongly_connected(import_graph())
    assert cycles == [], f"import cycles: {cycles}"
