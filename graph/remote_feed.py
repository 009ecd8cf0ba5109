"""The change feed of a store kept in a SPARQL engine: graph/feed.py's members, kept in the engine itself.

Every server process on every host in front of one engine serves the same
feed, so it cannot live in a file of one of them. The members go into one graph
of the engine, ``{base}graph/feed``, which the service never describes in its
metadata graph: it is in no query's dataset, no dump and no count. A member
is sent in the same SPARQL Update as the write it records (graph/remote_writes.py),
so a refused or failed write leaves no member, and a member is never seen
before its change.

In the feed graph, page ``k`` is the node ``{feed}/page/k``, with its number,
the time of its first member and a link to each of its members; a member is
``{feed}/member/n`` with its number, time, resource, whether it records a
deletion, and its statements as one N-Triples literal (read back and served
exactly as the embedded store's are). The resource's IRI is kept as a string
and its statements as text, so no IRI of the service's data occurs in the feed
graph: an engine whose default graph is the union of all its graphs
(``&union=engine``) shows no page a link from the feed. A page is read by following its links, so
its cost does not grow with the feed. The page size is kept in the graph when
the first member is written.

Members are numbered here, after the engine's last number, under the writers'
lease every host takes in the engine (graph/remote_lock.py), so no two are
numbered alike.
Retention removes whole pages from the front, as on the embedded store, a
few pages per write.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from pyoxigraph import Literal, NamedNode, Store, Triple

from .feed import ChangeFeed, FeedPolicy, Member, Page, _parse_time, _time_text, member_rows

if TYPE_CHECKING:
    from .remote import RemoteGraphStore

XSD_INTEGER = NamedNode("http://www.w3.org/2001/XMLSchema#integer")
#: Pages looked at for retention per write, from the front.
PRUNE_PAGES = 4


class RemoteFeed(ChangeFeed):
    """The change feed of a :class:`~heritage_hubs.graph.remote.RemoteGraphStore` (see the module's description).

    Every member in the engine is published (it came with its write), so the
    generation a reader names does not hide any.
    """

    def __init__(self, remote: RemoteGraphStore, policy: FeedPolicy | None = None) -> None:
        super().__init__(remote.path, remote.namespaces.base, policy)
        self.remote = remote
        self.graph = remote.namespaces.feed_graph
        self._term = {name: NamedNode(f"{self.graph}#{name}") for name in
                      ("pageSize", "last", "lastTime", "number", "start", "member", "seq", "time", "resource", "deleted",
                       "body")}
        self._statistics: tuple[int, tuple[int, int]] | None = None

    # ------------------------------------------------------------ IRIs in the engine

    def _page_node(self, number: int) -> NamedNode:
        return NamedNode(f"{self.graph}/page/{number}")

    def _member_node(self, seq: int) -> NamedNode:
        return NamedNode(f"{self.graph}/member/{seq}")

    def _p(self, name: str) -> str:
        return str(self._term[name])

    def _select(self, sparql: str) -> list[Any]:
        return list(self.remote.reader().select_outside_dataset(sparql))

    # ------------------------------------------------------------ writing

    def _state(self) -> tuple[int | None, int | None, str | None]:
        """The page size, the last member's number and its time, as the engine keeps them (one lookup, whatever the
        feed's length); None for each the feed has not yet."""
        g, t = self.graph, self._p
        rows = self._select(f"SELECT ?size ?last ?time WHERE {{ OPTIONAL {{ GRAPH <{g}> {{ <{g}> {t('pageSize')} ?size }} }} "
                            f"OPTIONAL {{ GRAPH <{g}> {{ <{g}> {t('last')} ?last ; {t('lastTime')} ?time }} }} }}")
        row = rows[0] if rows else {}

        def value(name: str) -> str | None:
            term = row[name] if rows else None
            return None if term is None else str(term.value)

        size, last, time = value("size"), value("last"), value("time")
        return (int(size) if size else None), (int(last) if last else None), time

    def page_size(self) -> int:
        if self._page_size is None:
            stored = self._state()[0]
            if stored is None:
                return self.policy.page_size
            self._page_size = stored
        return self._page_size

    def members_of(self, old: Store, new: Store, changed: set[str], graphs: list[str], *,
                   exclude_graph: Collection[str]) -> tuple[list[Triple], list[str]]:
        """The statements that record a write's change in the feed graph (to insert with the write), and the updates
        to run before they are inserted (the last member's number moves; the retention policy)."""
        size, last, last_time = self._state()
        moment = self._moment(last_time)
        triples = list(self.member_triples(old, new, changed, graphs, exclude_graph=exclude_graph, moment=moment,
                                           first=last + 1 if last is not None else 0, size=size))
        g, t = self.graph, self._p
        moved = f"<{g}> {t('last')} ?last . <{g}> {t('lastTime')} ?time"
        updates = [f"DELETE {{ GRAPH <{g}> {{ {moved} }} }} WHERE {{ GRAPH <{g}> {{ {moved} }} }}"] if triples else []
        return triples, updates + self._prune_updates(moment)

    def _moment(self, last_time: str | None) -> datetime:
        moment = datetime.now(UTC)
        if last_time is not None and moment <= _parse_time(last_time):
            moment = _parse_time(last_time) + timedelta(microseconds=1)  # member times never go backwards
        return moment

    def restart(self, new: Store, graphs: list[str], *, exclude_graph: Collection[str]) -> Iterator[Triple]:
        """The whole feed graph after a restore: one member for every resource of the restored dataset, numbered from
        the page after the last one served (pages served before answer 410 Gone, as retention's removed pages do)."""
        from .feed import changed_resources

        stored, last, last_time = self._state()
        size = stored or self.policy.page_size
        first = (last // size + 1) * size if last is not None else 0
        changed = changed_resources(Store(), new, graphs)
        yield Triple(NamedNode(self.graph), self._term["pageSize"], Literal(str(size), datatype=XSD_INTEGER))
        yield from self.member_triples(Store(), new, changed, graphs, exclude_graph=exclude_graph, bulk=True,
                                       moment=self._moment(last_time), first=first, size=size, fresh=True)

    def member_triples(self, old: Store, new: Store, changed: set[str], graphs: list[str], *,
                       exclude_graph: Collection[str], moment: datetime, first: int, size: int | None,
                       bulk: bool = False, fresh: bool = False) -> Iterator[Triple]:
        """The feed graph's statements for the members of a change, numbered from `first`, on pages of `size` (None:
        the feed is new, and the policy's size is written with it), and the feed's new last number and time;
        `fresh`: the first member opens its page."""
        if size is None:
            size = self.policy.page_size
            fresh = True
            yield Triple(NamedNode(self.graph), self._term["pageSize"], Literal(str(size), datatype=XSD_INTEGER))
        stamp = Literal(_time_text(moment))
        t = self._term
        seq = None
        for seq, resource, deleted, body in member_rows(old, new, changed, graphs, first=first, exclude_graph=exclude_graph,
                                                        bulk=bulk):
            page, member = self._page_node(seq // size), self._member_node(seq)
            if seq % size == 0 or (seq == first and fresh):  # the page's first member
                yield Triple(page, t["number"], Literal(str(seq // size), datatype=XSD_INTEGER))
                yield Triple(page, t["start"], stamp)
            yield Triple(page, t["member"], member)
            yield Triple(member, t["seq"], Literal(str(seq), datatype=XSD_INTEGER))
            yield Triple(member, t["time"], stamp)
            yield Triple(member, t["resource"], Literal(resource))  # (a string: in no graph pattern that looks for it)
            yield Triple(member, t["deleted"], Literal("1" if deleted else "0", datatype=XSD_INTEGER))
            yield Triple(member, t["body"], Literal(body))
        if seq is not None:
            yield Triple(NamedNode(self.graph), t["last"], Literal(str(seq), datatype=XSD_INTEGER))
            yield Triple(NamedNode(self.graph), t["lastTime"], stamp)

    def _prune_updates(self, now: datetime) -> list[str]:
        """Updates removing the oldest pages whose members are all older than the retention period and superseded
        (a later member for the same resource, or a deletion), from the front, as the embedded feed does; never the
        newest page."""
        cutoff = _time_text(now - timedelta(days=self.policy.retention_days))
        pages = self._select(f"SELECT ?page ?n WHERE {{ GRAPH <{self.graph}> {{ ?page {self._p('number')} ?n ; "
                             f"{self._p('start')} ?start }} FILTER(STR(?start) < \"{cutoff}\") }} ORDER BY ?n LIMIT {PRUNE_PAGES + 1}")
        if len(pages) < 2:
            return []
        updates = []
        g, t = self.graph, self._p
        for row, following in pairwise(pages):
            if int(following["n"].value) != int(row["n"].value) + 1:
                break
            page = str(row["page"])
            # The next page starts within the retention period's past too, so every member of this one is older.
            kept = self._select(
                f"SELECT ?m WHERE {{ GRAPH <{g}> {{ {page} {t('member')} ?m . ?m {t('deleted')} 0 ; {t('resource')} ?r ; "
                f"{t('seq')} ?seq . FILTER NOT EXISTS {{ ?later {t('resource')} ?r ; {t('seq')} ?after "
                "FILTER(?after > ?seq) } } } LIMIT 1")
            if kept:
                break
            updates.append(f"DELETE {{ GRAPH <{g}> {{ ?m ?p ?o }} }} WHERE {{ GRAPH <{g}> {{ {page} {t('member')} ?m . ?m ?p ?o }} }} ;\n"
                           f"DELETE {{ GRAPH <{g}> {{ {page} ?p ?o }} }} WHERE {{ GRAPH <{g}> {{ {page} ?p ?o }} }}")
        return updates

    def discard(self, generation: int) -> None:
        pass  # nothing is written before its write is

    def forget_unpublished(self, published: int) -> int:
        return 0

    # ------------------------------------------------------------ reading

    def first_page(self, generation: int) -> int | None:
        rows = self._select(f"SELECT ?n WHERE {{ GRAPH <{self.graph}> {{ ?page {self._p('number')} ?n }} }} ORDER BY ?n LIMIT 1")
        return int(rows[0]["n"].value) if rows else None

    def page(self, number: int, generation: int) -> Page | None:
        if not 0 <= number < 2**40:
            return None
        g, t = self.graph, self._p
        rows = self._select(
            f"SELECT ?seq ?time ?resource ?deleted ?body WHERE {{ GRAPH <{g}> {{ {self._page_node(number)} {t('member')} ?m . "
            f"?m {t('seq')} ?seq ; {t('time')} ?time ; {t('resource')} ?resource ; {t('deleted')} ?deleted ; "
            f"{t('body')} ?body }} }} ORDER BY ?seq")
        if not rows:
            return None
        members = [Member(int(r["seq"].value), str(r["time"].value), str(r["resource"].value), r["deleted"].value == "1",
                          str(r["body"].value)) for r in rows]
        following = self._select(f"SELECT ?start WHERE {{ GRAPH <{g}> {{ {self._page_node(number + 1)} {t('start')} ?start }} }}")
        return Page(number, members, members[-1].time if following else None, bool(following))

    def page_starts(self, generation: int) -> list[tuple[int, str]]:
        cached = self._page_starts
        if cached is not None and cached[0] == generation:
            return cached[1]
        rows = self._select(f"SELECT ?n ?start WHERE {{ GRAPH <{self.graph}> {{ ?page {self._p('number')} ?n ; "
                            f"{self._p('start')} ?start }} }} ORDER BY ?n")
        starts = [(int(r["n"].value), str(r["start"].value)) for r in rows]
        self._page_starts = (generation, starts)
        return starts

    def statistics(self, generation: int) -> tuple[int, int]:
        """(members, resources): counted in the engine once per generation (for the feed's HTML view)."""
        cached = self._statistics
        if cached is not None and cached[0] == generation:
            return cached[1]
        rows = self._select(f"SELECT (COUNT(?m) AS ?members) (COUNT(DISTINCT ?r) AS ?resources) WHERE {{ GRAPH <{self.graph}> "
                            f"{{ ?m {self._p('resource')} ?r }} }}")
        counts = (int(rows[0]["members"].value), int(rows[0]["resources"].value)) if rows else (0, 0)
        self._statistics = (generation, counts)
        return counts
