"""A model of the alpha network durable-rules builds for a ruleset (rete.c createAlpha and
findAlpha), to check durable's structural limits before durable sees the ruleset: some of
them hang or crash the process instead of failing."""

from __future__ import annotations

from .limits import (CHILDREN_CAP, ID_FIELD, MAX_BETAS, MAX_FIELDS, MAX_GROUPS, MAX_JOINS, MAX_RULES_PER_RULESET,
                     MAX_STACK, STACK_CAP)
from .normal import count_groups, node_fields, node_key


class Alpha:
    """One alpha node: a condition on one field (or a join), its children, and how many
    durable rules end here."""

    __slots__ = ("children", "joins", "betas", "op", "field")

    def __init__(self, field: str | None = None, op: str | None = None):
        self.children: dict[tuple, Alpha] = {}  # the hash set: deduplicated by (field, op, value)
        self.joins: list[Alpha] = []  # `$or` join nodes (`$nex $forward`, in the next list)
        self.betas = 0
        self.field = field
        self.op = op


class Network:
    """The alpha network of one ruleset, to check durable's structural limits before
    durable sees the ruleset (some of them hang or crash instead of failing)."""

    def __init__(self):
        self.root = Alpha()
        self.nodes: list[Alpha] = [self.root]
        self.rules = 0
        self.fields: set[str] = {ID_FIELD}
        self.max_groups = 0

    def _child(self, parent: Alpha, node) -> Alpha:
        key = node_key(node)
        child = parent.children.get(key)
        if child is None:
            child = parent.children[key] = Alpha(node[1], node[2] if node[0] == "cmp" else "$ex")
            self.nodes.append(child)
        return child

    def _insert(self, parent: Alpha, node) -> Alpha:
        if node[0] in ("cmp", "ex"):
            return self._child(parent, node)
        if node[0] == "and":
            for item in node[1]:
                parent = self._insert(parent, item)
            return parent
        join = Alpha()
        self.nodes.append(join)
        for item in node[1]:
            self._insert(parent, item).joins.append(join)
        return join

    def add(self, anchor, expr) -> None:
        items = expr[1] if expr[0] == "and" else (expr,)
        last = self._insert(self.root, ("and", (anchor,) + tuple(items)))
        last.betas += 1
        self.rules += 1
        node_fields(expr, self.fields)
        self.max_groups = max(self.max_groups, 1 + sum(count_groups(i) for i in items))

    def stack_peak(self) -> int:
        """Worst-case height of events.c handleAlpha's DFS stack: popping a node pushes
        every matching child, so peak(n) = max(m, m - 1 + max peak(child)) where m is how
        many children can match one message at once ($eq on one field: at most one)."""
        memo: dict[int, int] = {}
        todo = [(self.root, False)]
        while todo:  # iterative post-order: `not_in` chains can be thousands of nodes deep
            node, expanded = todo.pop()
            if id(node) in memo:
                continue
            below = list(node.children.values()) + node.joins
            if not expanded:
                todo.append((node, True))
                todo.extend((c, False) for c in below if id(c) not in memo)
                continue
            eq_fields = set()
            m = len(node.joins)
            for child in node.children.values():
                if child.op == "$eq":
                    eq_fields.add(child.field)
                else:
                    m += 1
            m += len(eq_fields)
            memo[id(node)] = max(m, m - 1 + max(memo[id(c)] for c in below)) if m else 0
        return memo[id(self.root)]

    def problem(self) -> tuple[str, str] | None:
        """(kind, message) of the first durable limit this network exceeds, or None."""
        if self.rules > MAX_RULES_PER_RULESET:
            return "rules", f"more than {MAX_RULES_PER_RULESET} durable rules in one ruleset"
        if len(self.fields) > MAX_FIELDS:
            return "fields", (f"it reads {len(self.fields) - 1} facts and conclusions, but a durable-rules fact "
                              f"holds at most {MAX_FIELDS} fields, one of them the backend's id field")
        if self.max_groups > MAX_GROUPS:
            return "groups", (f"{self.max_groups} nested all/any groups in one durable rule "
                              f"(durable-rules allows {MAX_GROUPS}: error 113)")
        for node in self.nodes:
            if len(node.children) > CHILDREN_CAP:
                return "children", (f"{len(node.children)} sibling conditions under one node "
                                    f"(durable-rules hangs at 512)")
            if len(node.joins) > MAX_JOINS:
                return "joins", f"{len(node.joins)} `any` branches joining at one node (at most {MAX_JOINS})"
            if node.betas > MAX_BETAS:
                return "betas", f"{node.betas} rules ending at one node (at most {MAX_BETAS})"
        peak = self.stack_peak()
        if peak > STACK_CAP:
            return "stack", (f"up to {peak} conditions true at once (durable-rules' stack holds {MAX_STACK}: "
                             f"error 303)")
        return None


SHARED_ANCHOR = ("ex", ID_FIELD)


def private_anchor(k: int) -> tuple:
    """An always-true condition of its own (`_n` is positive), so a split rule's pieces do
    not share alpha nodes (and their children) with each other."""
    return ("cmp", ID_FIELD, "$neq", -k)
