"""The format graph: direct pairs win, otherwise the cheapest chain, then the one with fewer steps."""

import pytest

from anclora import Converter
from anclora.conversion.planner import Planner
from anclora.errors import UnsupportedConversion


def converter(name, sources, targets, cost=1, available=True, final=()):
    attributes = {"name": name, "sources": tuple(sources), "targets": tuple(targets), "cost": cost,
                  "executables": () if available else ("anclora-missing-engine",), "final_targets": tuple(final)}
    return type(name.title(), (Converter,), attributes)()


def planner(*converters):
    return Planner.from_available({c.name: c for c in converters})


def test_direct_pair_beats_a_cheaper_chain():
    plan = planner(converter("pandoc", ["md"], ["docx", "pdf"], cost=5),
                   converter("office", ["docx"], ["pdf"], cost=1)).route("md", "pdf")
    assert plan.name == "pandoc" and plan.via == []


def test_chain_when_no_single_converter_does_it():
    plan = planner(converter("pandoc", ["md"], ["docx", "html"]),
                   converter("office", ["docx"], ["pdf"])).route("md", "pdf")
    assert plan.name == "pandoc+office" and plan.via == ["docx"]
    assert [(s.source, s.target) for s in plan.steps] == [("md", "docx"), ("docx", "pdf")]


def test_cheapest_chain_wins():
    p = planner(converter("a", ["x"], ["y"], cost=1), converter("b", ["y"], ["w"], cost=3),
                converter("d", ["x"], ["v"], cost=2), converter("e", ["v"], ["w"], cost=1))
    assert p.route("x", "w").name == "d+e"  # 3 credits beat 4


def test_no_chain_starts_from_a_converter_s_final_target():
    p = planner(converter("images", ["png"], ["pdf", "gif"], final=["pdf"]),
                converter("pdftext", ["pdf"], ["txt"]), converter("gifs", ["gif"], ["webp"]))
    with pytest.raises(UnsupportedConversion):
        p.route("png", "txt")
    assert p.route("png", "webp").name == "images+gifs"  # its other targets still chain
    assert planner(converter("office", ["docx"], ["pdf"]),
                   converter("pdftext", ["pdf"], ["txt"])).route("docx", "txt").via == ["pdf"]


def test_chains_stop_at_two_steps():
    p = planner(converter("a", ["x"], ["y"]), converter("b", ["y"], ["z"]), converter("c", ["z"], ["w"]))
    assert p.route("x", "z").name == "a+b"
    with pytest.raises(UnsupportedConversion):
        p.route("x", "w")  # image -> pdf -> text -> docx is not a conversion anyone means


def test_unavailable_converters_are_not_planned():
    p = planner(converter("office", ["docx"], ["pdf"], available=False), converter("pandoc", ["docx"], ["html"]))
    with pytest.raises(UnsupportedConversion):
        p.route("docx", "pdf")
    assert [route.name for route in p.routes()] == ["pandoc"]


def test_aliases_and_unknown_pairs():
    p = planner(converter("img", ["png"], ["jpeg"]))
    assert p.route("PNG", "jpg").target == "jpeg"
    with pytest.raises(UnsupportedConversion) as error:
        p.route("jpeg", "png")
    assert error.value.status == 422 and error.value.code == "unsupported_conversion"


def test_routes_list_every_direct_converter_and_chains_only_where_needed():
    p = planner(converter("one", ["a"], ["b"]), converter("two", ["a"], ["b"], cost=2),
                converter("three", ["b"], ["c"]))
    listed = [(r.source, r.target, r.name) for r in p.routes()]
    assert listed == [("a", "b", "one"), ("a", "b", "two"), ("a", "c", "one+three"), ("b", "c", "three")]


def test_stored_routes_resolve_to_the_same_steps():
    p = planner(converter("pandoc", ["md"], ["docx"]), converter("office", ["docx"], ["pdf"]))
    route = p.route("md", "pdf")
    again = p.resolve(route.name, route.source, route.target, route.via)
    assert again == route
    with pytest.raises(UnsupportedConversion):
        p.resolve("pandoc+gone", "md", "pdf", ["docx"])


def test_equal_chains_are_chosen_by_name_whatever_the_plugin_order():
    converters = [converter("x", ["a"], ["b", "c"]), converter("y", ["b", "c"], ["d"]),
                  converter("z", ["a"], ["b"])]
    for ordering in (converters, converters[::-1]):
        route = planner(*ordering).route("a", "d")
        assert (route.name, route.via) == ("x+y", ["b"])
