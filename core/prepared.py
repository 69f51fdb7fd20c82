"""Querysets compiled to SQL once per database connection, for the few queries every request of a
hot path runs (the API token's lookup, the repair detail's visibility check).

Building a queryset and compiling it costs more CPU than PostgreSQL spends answering these
one-row lookups by index. A `Prepared` builds its queryset once with stand-in values, keeps the
compiled SQL and the compiler's description of the columns, and per call only binds the real
values and turns the rows into what the ORM would have returned (the same converters, the same
`from_db` instances with their select_related objects and annotations). The SQL is Django's own,
so it runs through the connection's cursor like any other query: counted by
`django_assert_num_queries`, seen by execute wrappers, logged under DEBUG.

Stand-ins are strings or ints no real argument is (`STAND_IN_*`); each must appear exactly once
among the compiled parameters, which is checked when the SQL is built.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import get_related_populators

STAND_IN_TEXT = "\x1fprepared-stand-in-{}\x1f"
STAND_IN_INT = -7_340_000_000_000_000_001  # below any id; Python int, bound like any other
_numbers = itertools.count()


class _Compiled:
    def __init__(self, queryset: QuerySet, stand_ins: tuple[Any, ...], alias: str) -> None:
        compiler = queryset.query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.positions = []
        for stand_in in stand_ins:
            found = [i for i, value in enumerate(self.params) if value == stand_in]
            if len(found) != 1:
                raise ValueError(f"stand-in {stand_in!r} is bound {len(found)} times, not once")
            self.positions.append(found[0])
        fields = [column[0] for column in compiler.select[0 : compiler.col_count]]
        self.converters = compiler.get_converters(fields)
        self.compiler = compiler
        self.klass_info = compiler.klass_info
        kind = queryset._iterable_class.__name__
        query = queryset.query
        if kind not in ("ModelIterable", "ValuesListIterable") or (
            kind == "ValuesListIterable" and (query.extra_select or query.annotation_select)
        ):
            raise ValueError(f"{kind} with annotations or extras is not prepared here")
        self.flat_values = kind == "ValuesListIterable"
        self.col_count = compiler.col_count if compiler.has_extra_select else None
        if not self.flat_values:
            select = compiler.select
            fields_at = self.klass_info["select_fields"]
            self.model = self.klass_info["model"]
            self.span = (fields_at[0], fields_at[-1] + 1)
            self.init_list = [column[0].target.attname for column in select[slice(*self.span)]]
            self.populators = get_related_populators(self.klass_info, select, alias)
            self.annotations = dict(compiler.annotation_col_map or {})


class Prepared:
    """`Prepared(build, str, int, ...)`, one type per value: `build(*stand_ins)` returns the
    queryset (of model instances, or a `values_list` of plain fields); `prepared(*values)`
    returns its rows as the ORM would: model instances, or tuples. Values are bound in the
    order of the stand-ins `build` was given."""

    def __init__(self, build: Callable[..., QuerySet], *kinds: type) -> None:
        self.build = build
        self.stand_ins = tuple(
            STAND_IN_TEXT.format(i) if kind is str else STAND_IN_INT - i
            for i, kind in enumerate(kinds)
        )
        # A number of its own, never reused (an id() is, once an instance is collected).
        self._attr = f"_prepared_{next(_numbers)}"

    def _compiled(self, alias: str) -> _Compiled:
        connection = connections[alias]  # one per thread: the compiled SQL is kept on it
        compiled = connection.__dict__.get(self._attr)
        if compiled is None:
            compiled = _Compiled(self.build(*self.stand_ins), self.stand_ins, alias)
            connection.__dict__[self._attr] = compiled
        return compiled

    def __call__(self, *values: Any, using: str = DEFAULT_DB_ALIAS) -> list[Any]:
        compiled = self._compiled(using)
        params = list(compiled.params)
        for position, value in zip(compiled.positions, values, strict=True):
            params[position] = value
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        if compiled.col_count is not None:  # columns selected only to order by
            rows = [row[: compiled.col_count] for row in rows]
        if compiled.flat_values:
            return [tuple(row) for row in rows]
        out = []
        start, end = compiled.span
        for row in rows:
            obj = compiled.model.from_db(using, compiled.init_list, row[start:end])
            for populator in compiled.populators:
                populator.populate(row, obj)
            for name, at in compiled.annotations.items():
                setattr(obj, name, row[at])
            out.append(obj)
        return out
