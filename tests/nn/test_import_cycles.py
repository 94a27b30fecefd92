"""No module of ``glassnet.nn`` or ``glassnet.sklearn`` imports itself back through others
(imports inside functions count): the layer registry sits above the layers, the sklearn
conversion below the estimators and the public ``to_model`` above them."""

import grimp
import pytest


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("glassnet", include_external_packages=False)


def cycles(graph, package):
    modules = sorted(m for m in graph.modules if m.startswith(package + "."))
    found = []
    for index, module in enumerate(modules):
        for other in modules[index + 1 :]:
            there = graph.find_shortest_chain(module, other)
            back = graph.find_shortest_chain(other, module)
            if there and back:
                found.append(" -> ".join([*there, *back[1:]]))
    return found


@pytest.mark.parametrize("package", ["glassnet.nn", "glassnet.sklearn"])
def test_no_import_circle_inside_the_package(graph, package):
    assert cycles(graph, package) == []


def test_the_check_sees_an_import_circle(graph):
    graph.add_import(
        importer="glassnet.nn.layers", imported="glassnet.nn.registry", line_number=1,
        line_contents="from glassnet.nn.registry import from_config",
    )  # fmt: skip
    assert cycles(graph, "glassnet.nn")
