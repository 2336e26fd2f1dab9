"""Checks across site files: links, uplinks, cycles, and which kind of link a site hangs on.

Runs on the validated models before devices are built, because a device's
defaults depend on its site's uplink kind (VSAT sites poll slower).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netmon.config.site_models import LinkConfig, SiteConfig
from netmon.config.yamlmarks import ConfigError, MarkedDoc, PathKey
from netmon.inventory import Link, LinkEnd


@dataclass(frozen=True, slots=True)
class Placed:
    """A site model with where it was written."""

    site: SiteConfig
    doc: MarkedDoc
    path: PathKey

    def error(self, path: PathKey, message: str, *, note: bool = False) -> ConfigError:
        return self.doc.error((*self.path, *path), message, note=note)


def check_links(
    raw: Iterable[tuple[MarkedDoc, PathKey, LinkConfig]],
    sites: dict[str, Placed],
    errors: list[ConfigError],
) -> dict[str, Link]:
    """Links with existing endpoints; a bad endpoint is an error at its position."""
    links: dict[str, Link] = {}
    for doc, path, link in raw:
        if link.id in links:
            errors.append(doc.error((*path, "id"), f"duplicate link id {link.id!r}"))
            continue
        ends: list[LinkEnd] = []
        for side in ("a", "b"):
            site, device, ifname = LinkConfig.split(getattr(link, side))
            if site not in sites:
                errors.append(doc.error((*path, side), f"unknown site {site!r}"))
            elif device not in {d.id for d in sites[site].site.devices}:
                errors.append(doc.error((*path, side), f"site {site!r} has no device {device!r}"))
            ends.append(LinkEnd(site, device, ifname))
        links[link.id] = Link(link.id, link.kind.value, ends[0], ends[1])
    return links


def check_uplinks(sites: dict[str, Placed], errors: list[ConfigError]) -> None:
    """Every uplink names another existing site, and no uplink path loops."""
    for placed in sites.values():
        for parent in placed.site.parents:
            if parent == placed.site.id:
                errors.append(placed.error(("uplinks",), "a site cannot be its own uplink"))
            elif parent not in sites:
                errors.append(placed.error(("uplinks",), f"unknown uplink site {parent!r}"))
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sites:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        trail: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                state[node] = 1
                trail.append(node)
            parents = [p for p in sites[node].site.parents if p in sites and p != node]
            if i < len(parents):
                stack.append((node, i + 1))
                nxt = parents[i]
                if state.get(nxt) == 1:
                    cycle = " -> ".join([*trail[trail.index(nxt) :], nxt])
                    errors.append(sites[node].error(("uplinks",), f"uplink cycle: {cycle}"))
                elif not state.get(nxt):
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                trail.pop()


def uplink_kinds(sites: dict[str, Placed], links: dict[str, Link]) -> dict[str, str]:
    """site -> kind of the link to its first (primary) uplink, "" when none is declared."""
    between: dict[tuple[str, str], str] = {}
    for link in links.values():
        between.setdefault((link.a.site, link.b.site), link.kind)
        between.setdefault((link.b.site, link.a.site), link.kind)
    return {
        sid: between.get((sid, p.site.parents[0]), "") if p.site.parents else ""
        for sid, p in sites.items()
    }


def unlinked_uplinks(sites: dict[str, Placed], links: dict[str, Link]) -> list[ConfigError]:
    """Warnings: an uplink with no link between the two sites.

    Not an error (links are optional detail), but without one netmon cannot
    tell which interface carries the site, nor the link kind for its defaults.
    """
    pairs = {frozenset((link.a.site, link.b.site)) for link in links.values()}
    out: list[ConfigError] = []
    for sid, placed in sites.items():
        for parent in placed.site.parents:
            if parent in sites and frozenset((sid, parent)) not in pairs:
                out.append(
                    placed.error(("uplinks",), f"no link joins this site to its uplink {parent!r}")
                )
    return out
