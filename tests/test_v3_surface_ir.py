"""Hand-built decision tables for the surface tests (tests/test_v3_surface*.py): a policy
loaded from YAML whose chosen rules are turned into the rows of a `Table`, as the table
compiler (`language/tables.py`) would leave them: `Rule.table` set, and under `hit: first`
each row's `when` extended with the earlier rows' leaves restated (`via` = their rule
index), so the IR is exactly what explanations read, without depending on the YAML form."""

from __future__ import annotations

import dataclasses

from engine.language.model import All, Any, Comparison, Not, Policy, Table, TableRow


def restated(leaf: Comparison, via: int, index: int) -> Comparison:
    return dataclasses.replace(leaf, via=via, index=index)


def as_table(policy: Policy, table_id: str, rule_ids: list[str], hit: str, inputs: tuple[str, ...],
             columns: tuple[str, ...], cells: list[tuple[str, ...]], *, id_column: bool = True) -> Policy:
    """`policy` with the rules `rule_ids` (in that order) made rows 1.. of table `table_id`.
    Without `id_column`, the rules are renamed `table#row`."""
    rules = list(policy.rules)
    indexes = [policy.rule(r).index for r in rule_ids]
    earlier: list = []
    for row, i in enumerate(indexes, 1):
        r = rules[i]
        own = r.leaves
        when, leaves = r.when, tuple(own)
        if hit == "first" and earlier:
            n = max(leaf.index for leaf in own) + 1 if own else 0
            groups = []
            for j, prev_leaves in earlier:
                copies = []
                for leaf in prev_leaves:
                    copies.append(restated(leaf, j, n))
                    n += 1
                groups.append(All(tuple(copies)))
                leaves += tuple(copies)
            own_items = r.when.items if isinstance(r.when, All) else (r.when,)
            when = All(own_items + (Not(Any(tuple(groups))),))  # flat, as the table compiler builds it
        earlier.append((i, own))
        rid = r.id if id_column else f"{table_id}#{row}"
        rules[i] = dataclasses.replace(r, id=rid, when=when, leaves=leaves, table=TableRow(table_id, row))
    table = Table(id=table_id, hit=hit, inputs=inputs, columns=columns, rules=tuple(indexes),
                  cells=tuple(cells), loc=rules[indexes[0]].loc)
    return dataclasses.replace(policy, rules=tuple(rules), tables=policy.tables + (table,))
