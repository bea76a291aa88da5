"""The format graph: which available converter turns A into B, directly or as the cheapest chain of converters."""

from __future__ import annotations

import dataclasses
import heapq
from typing import Any, Iterable, Mapping

from .. import plugins, sniff
from ..errors import UnsupportedConversion
from . import pdfa
from .converter import Converter
from .options import from_query, schema_errors

MAX_STEPS = 2  # longer chains lose too much fidelity to be worth offering (png -> pdf -> txt -> docx)


@dataclasses.dataclass(frozen=True)
class Step:
    converter: Converter
    source: str
    target: str


@dataclasses.dataclass(frozen=True)
class Route:
    """One way from `source` to `target`: a single converter, or a chain whose options go to the last step."""

    steps: tuple[Step, ...]

    @property
    def source(self) -> str:
        return self.steps[0].source

    @property
    def target(self) -> str:
        return self.steps[-1].target

    @property
    def via(self) -> list[str]:
        return [step.target for step in self.steps[:-1]]

    @property
    def name(self) -> str:
        """The converter name stored with a job: one name, or the chain's names joined by `+`."""
        return "+".join(step.converter.name for step in self.steps)

    @property
    def last(self) -> Converter:
        return self.steps[-1].converter

    @property
    def options_schema(self) -> dict[str, Any]:
        """The last converter's options (`pdfa` included for every route to pdf: `anclora.conversion.pdfa`)."""
        return pdfa.schema(self.last, self.target)

    def takes(self, options: dict[str, Any]) -> bool:
        return not schema_errors(self.options_schema, options)


class Planner:
    """Built once from the converters that are available here; answers `route(a, b)` and lists every route."""

    def __init__(self, converters: Iterable[Converter]):
        self.converters = {c.name: c for c in converters}
        self.edges: dict[str, list[Step]] = {}
        for converter in self.converters.values():
            if converter.on_request:
                continue
            for source, target in converter.pairs():
                self.edges.setdefault(source, []).append(Step(converter, source, target))
        for steps in self.edges.values():
            steps.sort(key=lambda step: (step.converter.cost, step.converter.name))

    @classmethod
    def from_available(cls, converters: dict[str, Converter]) -> "Planner":
        return cls(c for c in converters.values() if c.availability().available)

    def direct(self, source: str, target: str) -> list[Route]:
        """Every single converter that does source -> target, cheapest first."""
        return [Route((step,)) for step in self.edges.get(source, ()) if step.target == target]

    def route(self, source: str, target: str, options: dict[str, Any] | None = None) -> Route:
        """The cheapest direct converter whose options schema takes `options`, else the cheapest chain;
        UnsupportedConversion when there is none. A second converter of a pair is reached by an option only it
        knows (pdf -> pdf is `pdf_pages`, or `ocr` with `{"ocr": true}`); when no converter takes the options,
        the cheapest one is returned, and validating them against it says what is wrong."""
        return self._pick(self.candidates(source, target), options or {})

    def candidates(self, source: str, target: str) -> list[Route]:
        """Every direct converter of the pair, cheapest first, else the cheapest chain."""
        source, target = sniff.normalize(source), sniff.normalize(target)
        direct = self.direct(source, target)
        if direct:
            return direct
        chain = self.chains_from(source).get(target)
        if chain is None:
            raise UnsupportedConversion(f"No converter turns {source} into {target}.",
                                        details={"from": source, "to": target})
        return [chain]

    @staticmethod
    def _pick(routes: list[Route], options: dict[str, Any]) -> Route:
        if options and len(routes) > 1:
            return next((route for route in routes if route.takes(options)), routes[0])
        return routes[0]

    def options_from_query(self, source: str, target: str, arguments: Mapping[str, list[str]]) -> dict[str, Any]:
        """Query-string options typed by the schema of the converter `route` will pick for them: the first
        candidate whose schema takes them once typed by it (else typed by the cheapest's)."""
        routes = self.candidates(source, target)
        for route in routes:
            options = from_query(route.options_schema, arguments)
            if route.takes(options):
                return options
        return from_query(routes[0].options_schema, arguments)

    def named(self, name: str, source: str, target: str) -> Route:
        """The single converter `name` doing source -> target, whether or not the planner would pick it."""
        converter = self.converters.get(name)
        if converter is None or (source, target) not in set(converter.pairs()):
            raise UnsupportedConversion(f"The converter {name!r} does not turn {source} into {target} here.",
                                        details={"from": source, "to": target, "converter": name})
        return Route((Step(converter, source, target),))

    def chains_from(self, source: str) -> dict[str, Route]:
        """Dijkstra on (total cost, number of steps): the best chain to each reachable format."""
        best: dict[str, Route] = {}
        # ties on cost and hops are broken by the path's names, so the choice never depends on plugin order
        queue: list[tuple[int, int, tuple[str, ...], str, tuple[Step, ...]]] = [(0, 0, (), source, ())]
        while queue:
            cost, hops, _, fmt, steps = heapq.heappop(queue)
            if fmt in best or (fmt == source and steps):
                continue
            if steps:
                best[fmt] = Route(steps)
            if hops == MAX_STEPS or (steps and fmt in steps[-1].converter.final_targets):
                continue
            for step in self.edges.get(fmt, ()):
                if step.target not in best and step.target != source:
                    path = steps + (step,)
                    names = tuple(f"{s.converter.name}>{s.target}" for s in path)
                    heapq.heappush(queue, (cost + step.converter.cost, hops + 1, names, step.target, path))
        return best

    def routes(self) -> list[Route]:
        """Every direct pair (one entry per converter), plus the best chain where no single converter exists."""
        routes: list[Route] = []
        for source in sorted(self.edges):
            for step in sorted(self.edges[source], key=lambda s: (s.target, s.converter.cost, s.converter.name)):
                routes.append(Route((step,)))
            direct_targets = {step.target for step in self.edges[source]}
            for target, chain in sorted(self.chains_from(source).items()):
                if target not in direct_targets:
                    routes.append(chain)
        return routes

    def resolve(self, name: str, source: str, target: str, via: list[str]) -> Route:
        """Rebuild the route a job was planned with from its stored converter name(s) and formats."""
        names = name.split("+")
        formats = [source, *via, target]
        if len(formats) != len(names) + 1:
            raise UnsupportedConversion("The planned chain no longer matches its formats.")
        steps = []
        for index, converter_name in enumerate(names):
            converter = self.converters.get(converter_name)
            if converter is None:
                raise UnsupportedConversion(f"The converter {converter_name!r} is not available here.")
            steps.append(Step(converter, formats[index], formats[index + 1]))
        return Route(tuple(steps))



def price(ctx, identity, route: Route, input_size: int = 0, options: dict[str, Any] | None = None,
          cached: bool = False) -> int:
    """The route's price in credits: per step, the first pricing plugin's answer, else the converter's own cost
    (nothing when the result cache answers: no engine runs)."""
    total = 0
    for index, step in enumerate(route.steps):
        step_options = (options or {}) if index == len(route.steps) - 1 else {}
        quoted = plugins.first(ctx.pm, "anclora_price_conversion", ctx=ctx, identity=identity,
                               converter=step.converter, input_size=input_size, options=step_options,
                               cached=cached)
        total += (0 if cached else step.converter.cost) if quoted is None else int(quoted)
    return total


def describe(ctx, identity, route: Route) -> dict[str, Any]:
    """A route as `GET /api/formats` shows it."""
    return {
        "from": route.source,
        "to": route.target,
        "family": sniff.family(route.target),
        "converter": route.name,
        "via": route.via,
        "options": route.options_schema,
        "cost": price(ctx, identity, route),
    }
