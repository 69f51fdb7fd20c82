"""The national-scale world of `bench/run.py`: many centers, their customers, product models,
repairs in every state with their timelines and promises, loaded straight into PostgreSQL
(repairs and customers with COPY, their events and promises with one INSERT ... SELECT each).

    full:      1,000 centers, 1,000,000 repairs, 100,000 open, the largest center 10,000 open
    --skip-1m:   100 centers,   100,000 repairs,  20,000 open, the largest center 10,000 open

The largest center is the bench's `BM`: it holds 100,000 repairs taken in over the last 365
days at full size (10,000 open), so its CSV export of a year is 100,000 rows and its board
holds 10,000 open cards. The other centers share the rest evenly. Open repairs are spread over
the board's states, a third of them with a promise that is overdue; closed repairs have a
closing event, so turnaround and time-in-state figures have real rows to read.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
from dataclasses import dataclass

# The states an open repair waits in, roughly as often as a busy center sees them.
OPEN_MIX = (
    ("received", 3),
    ("diagnosing", 3),
    ("awaiting_approval", 2),
    ("awaiting_parts", 3),
    ("ready_to_repair", 2),
    ("in_repair", 3),
    ("repaired", 1),
    ("ready_for_pickup", 2),
)
SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구"
GIVEN = "민서지현준우도윤하은수아예진성호재영승훈유나다인태희정연시우주원소율은호건"
MODELS = 60  # product models besides the demo's


@dataclass(frozen=True)
class Size:
    centers: int
    repairs: int
    open: int
    largest_repairs: int
    largest_open: int


FULL = Size(1000, 1_000_000, 100_000, 100_000, 10_000)
SMALL = Size(100, 100_000, 20_000, 20_000, 10_000)


def say(name: str, value) -> None:
    print(f"{name}: {value}", flush=True)


def korean_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


def _copy(model, rows, template: dict) -> int:
    """COPY rows into `model`'s table: every concrete column but id, its value from the row
    (a dict of attnames) or else from `template` (attnames as well), prepared by Django."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if f.name != "id"]
    probe = model(**template)
    base = {f.attname: f.get_db_prep_save(getattr(probe, f.attname), connection) for f in fields}
    cols = ", ".join(f'"{f.column}"' for f in fields)
    prepared = {f.attname: f for f in fields}
    n = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {model._meta.db_table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                values = dict(base)
                for name, value in row.items():
                    values[name] = prepared[name].get_db_prep_save(value, connection)
                copy.write_row([values[f.attname] for f in fields])
                n += 1
    return n


def _centers(size: Size):
    from service_center.models import ServiceCenter

    have = set(ServiceCenter.objects.filter(code__startswith="N").values_list("code", flat=True))
    rows = (
        {"code": f"N{i:04d}", "name": f"전국 {i:04d} 센터"}
        for i in range(1, size.centers)  # the largest center (BM) is one of them
        if f"N{i:04d}" not in have
    )
    _copy(ServiceCenter, rows, {"code": "x", "name": "x"})
    return list(
        ServiceCenter.objects.filter(code__startswith="N").order_by("code")[: size.centers - 1]
    )


def _models():
    from service_center.models import ProductModel

    have = set(ProductModel.objects.filter(code__startswith="NB-").values_list("code", flat=True))
    rows = (  # a generator read while COPY runs: no queries in it
        {"code": f"NB-{i:03d}", "name": f"벤치 모델 {i:03d}", "category": "audio"}
        for i in range(MODELS)
        if f"NB-{i:03d}" not in have
    )
    _copy(ProductModel, rows, {"code": "x", "name": "x"})
    return list(ProductModel.objects.values_list("id", flat=True))


def _customers(center_ids: list[int], per_center: int, rng: random.Random) -> dict[int, list]:
    """`per_center` customers at each center; their ids by center."""
    from django.utils import timezone

    from service_center.models import Customer

    now = timezone.now()
    first = Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def rows():
        for center_id in center_ids:
            for _ in range(per_center):
                phone = f"+8210{rng.randrange(10**8):08d}"
                yield {"center_id": center_id, "name": korean_name(rng), "phone": phone}

    _copy(
        Customer,
        rows(),
        {"center_id": center_ids[0], "name": "x", "phone": "+821000000000", "created_at": now},
    )
    by_center: dict[int, list] = {}
    for pk, center_id in Customer.objects.filter(id__gt=first).values_list("id", "center_id"):
        by_center.setdefault(center_id, []).append(pk)
    return by_center


def _repairs(plan, customers, models, center_codes, rng, start_number: int) -> int:
    """COPY the planned repairs: plan is [(center_id, closed, open)]."""
    from django.utils import timezone

    from workflows.models import Repair

    now = timezone.now()
    states = [s for s, w in OPEN_MIX for _ in range(w)]
    year = 365 * 86400

    def rows():
        n = start_number
        for center_id, closed, opened in plan:
            people = customers[center_id]
            code = center_codes[center_id]
            for i in range(closed + opened):
                n += 1
                is_open = i >= closed
                # Open repairs are recent (the last 30 days); closed ones spread over a year.
                age = rng.randrange(30 * 86400 if is_open else year)
                created = now - dt.timedelta(seconds=age + 3600)
                row = {
                    "ticket_number": f"{code}-{created:%y%m}-N{n:08d}",
                    "status_token": secrets.token_hex(16),
                    "center_id": center_id,
                    "customer_id": rng.choice(people),
                    "product_model_id": rng.choice(models),
                    "state": rng.choice(states) if is_open else "closed",
                    "coverage": "paid" if n % 3 else "warranty",
                    "labor_fee": 20000 + (n % 9) * 5000 if n % 3 else None,
                    "created_at": created,
                    "updated_at": created,
                }
                if not is_open:
                    done = created + dt.timedelta(hours=20 + n % 100)
                    row["completed_at"] = done
                    row["closed_at"] = done + dt.timedelta(hours=4)
                yield row

    template = {
        "symptom": "전원이 켜지지 않음",
        "coverage": "paid",
        "created_at": now,
        "updated_at": now,
        "center_id": plan[0][0],
        "customer_id": 1,
        "product_model_id": models[0],
    }
    return _copy(Repair, rows(), template)


def _timelines(first_id: int) -> None:
    """Events and promises of the repairs after `first_id`, in SQL: the intake event; for a
    repair past `received` the transition into its state an hour later; for a closed one the
    closing event; a promise for every third open repair, overdue by up to two days (so the
    board's overdue strip and the call list have work), the rest due in the next days."""
    from django.db import connection

    event = (
        "INSERT INTO workflows_repairevent (repair_id, at, actor_kind, actor_name, kind, "
        "transition, from_state, to_state, customer_visible, text, text_code, text_params, "
        "data) SELECT id, {at}, 'system', 'system', 'transition', {transition}, {from_state}, "
        "{to_state}, true, '', '', '{{}}'::jsonb, '{{}}'::jsonb FROM workflows_repair "
        "WHERE id > %s {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            event.format(
                at="created_at",
                transition="'intake'",
                from_state="''",
                to_state="'received'",
                where="",
            ),
            [first_id],
        )
        cursor.execute(
            event.format(
                at="created_at + interval '1 hour'",
                transition="'bench'",
                from_state="'received'",
                to_state="state",
                where="AND state NOT IN ('received', 'closed')",
            ),
            [first_id],
        )
        cursor.execute(
            event.format(
                at="closed_at",
                transition="'hand_over'",
                from_state="'ready_for_pickup'",
                to_state="'closed'",
                where="AND state = 'closed'",
            ),
            [first_id],
        )
        cursor.execute(
            "INSERT INTO workflows_promise (repair_id, kind, due_at, note, made_at) "
            "SELECT id, 'callback', CASE WHEN id %% 3 = 0 THEN now() - (id %% 48) * interval "
            "'1 hour' ELSE now() + (id %% 96) * interval '1 hour' END, '', created_at "
            "FROM workflows_repair WHERE id > %s AND state <> 'closed' AND id %% 3 <> 1",
            [first_id],
        )


def grow(largest, size: Size, *, seed: int = 14) -> None:
    """Load the national world around `largest` (the bench's BM center, which may already hold
    repairs: it is topped up to size.largest_repairs / size.largest_open)."""
    from django.db import connection

    from workflows.models import Repair

    rng = random.Random(seed)
    started = time.perf_counter()
    others = _centers(size)
    models = _models()
    have = Repair.objects.filter(center=largest)
    have_open = have.exclude(state__in=["closed", "cancelled"]).count()
    have_all = have.count()
    rest = size.repairs - size.largest_repairs
    rest_open = size.open - size.largest_open
    n_other = len(others)
    plan = [
        (
            largest.pk,
            max(0, size.largest_repairs - size.largest_open - (have_all - have_open)),
            max(0, size.largest_open - have_open),
        )
    ]
    for i, center in enumerate(others):
        total = rest // n_other + (1 if i < rest % n_other else 0)
        opened = rest_open // n_other + (1 if i < rest_open % n_other else 0)
        plan.append((center.pk, total - opened, opened))
    ids = [c.pk for c in (largest, *others)]
    customers = _customers(ids, max(20, size.repairs // len(ids) // 5), rng)
    codes = {c.pk: c.code for c in (largest, *others)}
    first_id = Repair.objects.order_by("-id").values_list("id", flat=True).first() or 0
    loaded = _repairs(plan, customers, models, codes, rng, Repair.objects.count())
    _timelines(first_id)
    with connection.cursor() as cursor:
        # What autovacuum does to a table after a bulk load (this machine's PostgreSQL runs
        # with autovacuum off): the visibility map set, so index-only scans read no heap.
        cursor.execute("VACUUM ANALYZE")
    say("national_load_seconds", f"{time.perf_counter() - started:.1f}  ({loaded:,} repairs)")
    total = Repair.objects.count()
    open_total = Repair.objects.exclude(state__in=["closed", "cancelled"]).count()
    largest_open = have.exclude(state__in=["closed", "cancelled"]).count()
    say(
        "national_world",
        f"{len(ids)} centers, {total:,} repairs, {open_total:,} open, "
        f"largest center {have.count():,} repairs / {largest_open:,} open",
    )
