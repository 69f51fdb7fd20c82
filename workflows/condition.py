"""The intake condition checklist: which items are checked for which product category, and the
states an item can be in. Declared here once; the intake input, the pages and the ticket read it.

A repair stores what was checked as `Repair.condition`: `[{item, state, note}]`.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

STATES: dict[str, str] = {
    "ok": _("OK"),
    "damaged": _("Damaged"),
    "not_checked": _("Not checked"),
}
DEFAULT_STATE = "not_checked"
NOTE_MAX = 300

ITEMS: dict[str, str] = {
    "screen": _("Screen"),
    "casing": _("Casing"),
    "buttons": _("Buttons"),
    "liquid_indicator": _("Liquid indicator"),
    "power": _("Power"),
    "accessories": _("Accessories"),
    "ports": _("Ports"),
    "ear_tips": _("Ear tips"),
    "strap": _("Strap"),
}

DEFAULT_ITEMS = ("screen", "casing", "buttons", "liquid_indicator", "power", "accessories")
# ProductModel.category (lower case) -> its checklist; any other category gets DEFAULT_ITEMS.
CATEGORY_ITEMS: dict[str, tuple[str, ...]] = {
    "earbuds": ("casing", "ear_tips", "liquid_indicator", "power", "accessories"),
    "headphones": ("casing", "buttons", "ports", "power", "accessories"),
    "watch": ("screen", "casing", "buttons", "strap", "liquid_indicator", "power"),
}


def items_for(category: str | None) -> tuple[str, ...]:
    """The checklist items for a product category (the default list when it has none)."""
    return CATEGORY_ITEMS.get((category or "").strip().lower(), DEFAULT_ITEMS)


def checklist_rows(condition: list[dict[str, str]]) -> list[dict[str, str]]:
    """A stored checklist with its labels, for the ticket and the pages (unknown codes as is)."""
    return [
        {
            **line,
            "item_label": str(ITEMS.get(line.get("item", ""), line.get("item", ""))),
            "state_label": str(STATES.get(line.get("state", ""), line.get("state", ""))),
        }
        for line in condition
    ]
