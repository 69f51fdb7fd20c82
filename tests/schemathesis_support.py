"""Real identifiers for the schemathesis run (tests/schemathesis_run.sh), written as its config.

Run against a live server on a seeded database (`manage.py seed_demo`), with the server's
DATABASE_URL:

    python tests/schemathesis_support.py http://127.0.0.1:PORT OUT.toml
    python tests/schemathesis_support.py summary SCHEMA_URL HAR_FILE SCHEMATHESIS_LOG

It gives the staff API tokens, then walks one repair per transition to the state that
transition starts from (through the API, as a client would: intake, assign, diagnose, ...), and
one parts order per order transition. The config pins each operation's path parameters (and the
few body fields an identifier lives in) to those records, so every operation is sent valid data
as well as generated data. A fixture that does not reach its state stops the run: a schemathesis
pass on the wrong records would prove little.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "service_center.settings")

PASSWORD = "demo12345"  # seed_demo's
MANAGER, DESK, TECH = "manager", "desk", "tech"


class Api:
    def __init__(self, base_url: str, tokens: dict[str, str]):
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens

    def call(self, method: str, path: str, body: dict | None = None, *, who: str = MANAGER):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Token {self.tokens[who]}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def ok(self, method: str, path: str, body: dict | None = None, *, who: str = MANAGER):
        status, answer = self.call(method, path, body, who=who)
        if status >= 300:
            raise SystemExit(f"schemathesis fixtures: {method} {path} -> {status}: {answer}")
        return answer


def staff_tokens() -> dict[str, str]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    users = get_user_model().objects.filter(username__in=[MANAGER, DESK, TECH])
    return {user.username: Token.objects.get_or_create(user=user)[0].key for user in users}


def seeded_reference() -> dict[str, str]:
    """Identifiers seed_demo creates (a registered serial, a model, a part, a customer's phone)."""
    from parts.models import Part
    from service_center.models import Customer, Device

    device = Device.objects.select_related("product_model").order_by("serial_number").first()
    part = Part.objects.filter(compatible_models=device.product_model).order_by("pk").first()
    customer = Customer.objects.order_by("pk").first()
    return {
        "serial": device.serial_number,
        "model": device.product_model.code,
        "part": part.part_number,
        "phone": str(customer.phone),
    }


class Fixtures:
    """One repair per transition, walked through the API to the state the transition needs."""

    def __init__(self, api: Api, ref: dict[str, str]):
        self.api, self.ref = api, ref
        self.count = 0

    def intake(self, *, in_shop: bool = True, courier: bool = False) -> str:
        self.count += 1
        body = {
            "customer": {"name": f"Fixture {self.count}", "phone": f"010-7000-{self.count:04d}"},
            "symptom": "schemathesis fixture",
            "product_model": self.ref["model"],
            "device_in_shop": in_shop,
        }
        if courier:
            body.update(return_method="courier", courier_address="서울특별시 강남구 테헤란로 1")
        return self.api.ok("POST", "/api/v1/repairs/", body)["ticket_number"]

    def run(self, ticket: str, name: str, body: dict | None = None, *, who: str = MANAGER) -> dict:
        return self.api.ok(
            "POST", f"/api/v1/repairs/{ticket}/transitions/{name}/", body or {}, who=who
        )

    def received(self, **kw) -> str:
        return self.intake(**kw)

    def diagnosing(self, **kw) -> str:
        ticket = self.intake(**kw)
        self.run(ticket, "assign", {"technician": TECH})
        return ticket

    def awaiting_approval(self, **kw) -> str:
        ticket = self.diagnosing(**kw)
        self.run(ticket, "set_coverage", {"coverage": "paid", "reason": "fixture"})
        self.run(ticket, "diagnose", {"findings": "fixture", "labor_fee": 10000}, who=TECH)
        return ticket

    def ready_to_repair(self, **kw) -> str:
        ticket = self.awaiting_approval(**kw)
        self.run(ticket, "approve")
        return ticket

    def in_repair(self, **kw) -> str:
        ticket = self.ready_to_repair(in_shop=True, **kw)
        self.run(ticket, "start_repair", who=TECH)
        return ticket

    def repaired(self, **kw) -> str:
        ticket = self.in_repair(**kw)
        self.run(ticket, "complete", {"work_notes": "fixture"}, who=TECH)
        return ticket

    def ready_for_pickup(self) -> str:
        ticket = self.repaired()
        self.run(ticket, "notify_ready_for_pickup")
        return ticket

    def pay_balance(self, ticket: str) -> str:
        """Pay what is due (a courier repair ships only once nothing is owed)."""
        due = self.api.ok("GET", f"/api/v1/repairs/{ticket}/")["balance_due"]
        if due:
            body = {"amount": due, "method": "transfer"}
            self.api.ok("POST", f"/api/v1/repairs/{ticket}/payments/", body)
        return ticket

    def shipped(self) -> str:
        ticket = self.pay_balance(self.repaired(courier=True))
        self.run(ticket, "ship", {"carrier": "CJ", "tracking_number": "FIX-1"})
        return ticket

    def paid(self) -> str:
        """A repair with money on its ledger, for refunds."""
        return self.pay_balance(self.ready_to_repair())

    def ready_for(self, ticket: str, transition: str, *, clearable: tuple[str, ...] = ()) -> str:
        """The repair's own blockers for `transition` are empty (or only ones its input clears)."""
        detail = self.api.ok("GET", f"/api/v1/repairs/{ticket}/")
        left = [b["code"] for b in detail["blockers"].get(transition, [])]
        left = [code for code in left if code not in clearable]
        if left:
            raise SystemExit(f"schemathesis fixtures: {ticket} not ready for {transition}: {left}")
        return ticket


def repair_transitions(fx: Fixtures) -> dict[str, dict]:
    """Per transition: the repair, the token that may run it, and body fields to pin."""
    r = fx.ready_for
    balance = {}
    pickup = fx.ready_for_pickup()
    due = fx.api.ok("GET", f"/api/v1/repairs/{pickup}/")["balance_due"]
    balance["amount_paid"] = due
    return {
        "assign": {
            "ticket": r(fx.received(), "assign", clearable=("no_technician",)),
            "body": {"technician": TECH},
        },
        "diagnose": {"ticket": r(fx.diagnosing(), "diagnose"), "who": TECH},
        "set_coverage": {"ticket": r(fx.received(), "set_coverage")},
        "record_deposit": {"ticket": r(fx.awaiting_approval(), "record_deposit")},
        "approve": {"ticket": r(fx.awaiting_approval(), "approve")},
        "decline": {"ticket": r(fx.received(), "decline")},
        "invite_for_repair": {"ticket": r(fx.ready_to_repair(in_shop=False), "invite_for_repair")},
        "check_in_device": {"ticket": r(fx.received(in_shop=False), "check_in_device")},
        "start_repair": {
            "ticket": r(fx.ready_to_repair(in_shop=True), "start_repair"),
            "who": TECH,
        },
        "complete": {"ticket": r(fx.in_repair(), "complete"), "who": TECH},
        "report_unrepairable": {"ticket": r(fx.diagnosing(), "report_unrepairable"), "who": TECH},
        "notify_ready_for_pickup": {"ticket": r(fx.repaired(), "notify_ready_for_pickup")},
        "ship": {
            "ticket": r(
                fx.pay_balance(fx.repaired(courier=True)), "ship", clearable=("tracking_missing",)
            ),
            "body": {"carrier": "CJ", "tracking_number": "ST-1"},
        },
        "hand_over": {
            "ticket": r(pickup, "hand_over", clearable=("balance_due",)),
            "body": balance,
        },
        "confirm_delivery": {"ticket": r(fx.shipped(), "confirm_delivery")},
        "cancel": {"ticket": r(fx.received(in_shop=False), "cancel")},
    }


def parts_orders(fx: Fixtures) -> dict[str, int]:
    """One order per order transition, in the state it starts from."""
    line = {"part_number": fx.ref["part"], "quantity": 1}
    ids = {}
    for name in ("ship", "receive", "cancel"):
        ids[name] = fx.api.ok("POST", "/api/v1/parts-orders/", {"lines": [line]})["id"]
    fx.api.ok(
        "POST",
        f"/api/v1/parts-orders/{ids['receive']}/transitions/ship/",
        {"carrier": "CJ", "tracking_number": "ORDER-1"},
    )
    return ids


def public_lookups(fx: Fixtures) -> dict[str, dict]:
    """A ticket and its phone digits for each public operation, in a state that operation needs."""

    def pair(ticket: str) -> dict:
        phone = fx.api.ok("GET", f"/api/v1/repairs/{ticket}/")["customer"]["phone"]
        return {"ticket_number": ticket, "phone_last4": "".join(filter(str.isdigit, phone))[-4:]}

    return {
        "status": pair(fx.received()),
        "approve": pair(fx.awaiting_approval()),
        "decline": pair(fx.awaiting_approval()),
        "courier-return": pair(fx.received()),
    }


def toml_value(value) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON strings, numbers and arrays are TOML


def operation(method: str, path: str, parameters: dict, *, token: str | None = None) -> str:
    # One `include-name` ("POST /path"): separate include-path and include-method filters are
    # OR-ed, which would match every POST.
    lines = ["[[operations]]", f"include-name = {toml_value(f'{method} {path}')}"]
    if token:
        lines.append(f"headers = {{ Authorization = {toml_value('Token ' + token)} }}")
    pairs = ", ".join(f"{toml_value(k)} = {toml_value(v)}" for k, v in parameters.items())
    lines.append(f"parameters = {{ {pairs} }}")
    return "\n".join(lines) + "\n"


def main(base_url: str, out: str) -> None:
    tokens = staff_tokens()
    ref = seeded_reference()
    api = Api(base_url, tokens)
    fx = Fixtures(api, ref)
    transitions = repair_transitions(fx)
    orders = parts_orders(fx)
    public = public_lookups(fx)
    shared = fx.received()
    from tests.schemathesis_stock import transfer_operation

    transfer = transfer_operation(api, ref["part"], operation)  # stock at GN, a second center
    # Its own repair: recording a call on the shared one fulfils open call-back promises.
    promised = fx.received()
    promise = api.ok(
        "POST",
        f"/api/v1/repairs/{promised}/promises/",
        {"kind": "callback", "due_at": "2030-01-01T10:00:00+09:00", "note": "fixture"},
    )["id"]

    repairs = "/api/v1/repairs/{ticket_number}"
    blocks = [
        "cache = { enabled = false }\n",
        f"headers = {{ Authorization = {toml_value('Token ' + tokens[MANAGER])} }}\n",
        "[parameters]\n"
        f'"path.ticket_number" = {toml_value(shared)}\n'
        f'"path.serial" = {toml_value(ref["serial"])}\n'
        f'"query.product_model" = {toml_value(ref["model"])}\n'
        f'"query.phone" = {toml_value(ref["phone"])}\n'
        f'"query.technician" = {toml_value(TECH)}\n'
        f'"body.product_model" = {toml_value(ref["model"])}\n'
        f'"body.lines[*].part_number" = {toml_value(ref["part"])}\n'
        f'"body.compatible_models[*]" = {toml_value(ref["model"])}\n'
        f'"body.customer.phone" = {toml_value(ref["phone"])}\n'
        f'"body.center" = "GN"\n',
        operation(
            "POST", "/api/v1/auth/token/", {"body.username": DESK, "body.password": PASSWORD}
        ),
        operation("POST", "/api/v1/stock/adjust/", {"body.part_number": ref["part"]}),
        transfer,
        # The stock ledger: a real part number, a date and the manager's own center.
        operation(
            "GET",
            "/api/v1/stock/movements/",
            {"query.part": ref["part"], "query.since": "2024-01-01", "query.center": "GN"},
        ),
        # The reports' CSV: a valid range at the manager's own center.
        operation(
            "GET",
            "/api/v1/reports/repairs.csv",
            {"query.from": "2024-01-01", "query.to": "2024-12-31", "query.center": "GN"},
        ),
        # The API takes 4-40 letters and digits (normalised); the schema says "a string".
        operation(
            "POST",
            "/api/v1/devices/",
            {"body.serial_number": "STNEW0001", "body.purchase_date": "2024-01-15"},
        ),
        operation(
            "POST",
            f"{repairs}/promises/{{promise_id}}/fulfil/",
            {"path.ticket_number": promised, "path.promise_id": promise},
        ),
    ]
    # The ledger: a repair with a balance to take payments on, one with money to refund (one won
    # at a time, so many generated cases succeed); the list and the receipt use the shared one.
    blocks += [
        operation(
            "POST",
            f"{repairs}/payments/",
            {"path.ticket_number": fx.ready_to_repair(), "body.amount": 1},
        ),
        operation(
            "POST",
            f"{repairs}/refunds/",
            {"path.ticket_number": fx.paid(), "body.amount": 1},
        ),
    ]
    from tests.schemathesis_flow import flow_operations

    blocks += flow_operations(fx, operation, tech=TECH, tech_token=tokens[TECH])
    for name, spec in transitions.items():
        params = {"path.ticket_number": spec["ticket"]}
        params.update({f"body.{k}": v for k, v in spec.get("body", {}).items()})
        token = tokens[spec["who"]] if "who" in spec else None
        blocks.append(operation("POST", f"{repairs}/transitions/{name}/", params, token=token))
    for name, order_id in orders.items():
        path = f"/api/v1/parts-orders/{{order_id}}/transitions/{name}/"
        blocks.append(operation("POST", path, {"path.order_id": order_id}))
    for name, pair in public.items():
        params = {f"body.{k}": v for k, v in pair.items()}
        blocks.append(operation("POST", f"/api/v1/public/{name}/", params))
    Path(out).write_text("\n".join(blocks))
    print(f"schemathesis fixtures: {fx.count} repairs, {len(orders)} parts orders -> {out}")


def operations(schema: dict) -> list[tuple[str, str, re.Pattern]]:
    found = []
    for path, methods in schema["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        for method in methods:
            if method in {"get", "post", "put", "patch", "delete"}:
                found.append((method.upper(), path, pattern))
    return found


def summary(schema_url: str, har_path: str, log_path: str) -> int:
    """One plain line from the HAR report: operations, how many answered 2xx at least once,
    cases, 5xx answers. Non-zero when an operation never answered 2xx or anything gave a 5xx."""
    request = urllib.request.Request(schema_url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        ops = operations(json.loads(response.read()))
    statuses: dict[str, Counter] = {f"{m} {p}": Counter() for m, p, _ in ops}
    server_errors = []
    entries = json.loads(Path(har_path).read_text())["log"]["entries"]
    for entry in entries:
        method = entry["request"]["method"]
        path = urllib.parse.urlsplit(entry["request"]["url"]).path
        status = entry["response"]["status"]
        if status >= 500:
            server_errors.append(f"{method} {entry['request']['url']} -> {status}")
        for op_method, op_path, pattern in ops:
            if op_method == method and pattern.match(path):
                statuses[f"{op_method} {op_path}"][status] += 1
                break
    without_2xx = [op for op, seen in statuses.items() if not any(200 <= s < 300 for s in seen)]
    for op in without_2xx:
        print(f"schemathesis: never answered 2xx: {op} {dict(statuses[op])}")
    for line in server_errors[:20]:
        print(f"schemathesis: server error: {line}")
    generated = re.findall(r"(\d+) generated", Path(log_path).read_text())
    cases = generated[-1] if generated else "?"
    print(
        f"schemathesis: {len(ops)} operations, {len(ops) - len(without_2xx)} answered 2xx,"
        f" {cases} cases ({len(entries)} requests), {len(server_errors)} server errors (5xx)"
    )
    return 1 if server_errors or without_2xx else 0


if __name__ == "__main__":
    if sys.argv[1] == "summary":
        sys.exit(summary(*sys.argv[2:5]))
    main(sys.argv[1], sys.argv[2])
