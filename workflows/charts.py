"""Charts as inline SVG, drawn on the server: no script, no library, no CDN. Each chart is an
image with a name (role="img", aria-label); every bar carries its number as a <title> tooltip,
and the page puts the same numbers in a table after it. The SVG scales to its container's width
(viewBox), so it fits a 390 px phone."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

INK, MUTED, BAR, LINE = "#1f2933", "#52606d", "#2f6fde", "#d9e2ec"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    tooltip: str  # the bar's figure in words, e.g. "2026-W03: 41.5 hours"


def _nice_top(largest: float) -> float:
    """A round axis maximum at or above `largest` (1, 2, 2.5, 5 times a power of ten)."""
    if largest <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= largest:
        power *= 10
    while power > largest:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= largest:
            return step * power
    return 10 * power


def _html(template: str, *args: object) -> SafeString:
    """format_html, with floats written to one decimal (format_html escapes every argument to
    text first, so a format spec like {:.1f} cannot reach a number)."""
    texts = (f"{a:.1f}" if isinstance(a, float) else a for a in args)
    return format_html(template.replace("{:.1f}", "{}"), *texts)


def _tick(value: float) -> str:
    return f"{value:g}"


def _svg(width: int, height: int, label: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="inherit" font-size="12">{}</svg>',
        width,
        height,
        label,
        body,
    )


def bar_chart(bars: list[Bar], *, label: str, unit: str) -> SafeString:
    """Vertical bars (e.g. one per week), a value axis with 5 ticks labelled in `unit`."""
    width, height, left, bottom, top = 640, 276, 48, 64, 24  # room for slanted labels
    plot_w, plot_h = width - left - 8, height - top - bottom
    peak = _nice_top(max((b.value for b in bars), default=0))
    parts = [_value_axis(left, top, plot_w, plot_h, peak, unit)]
    slot = plot_w / max(len(bars), 1)
    for i, bar in enumerate(bars):
        h = plot_h * bar.value / peak
        x = left + i * slot + slot * 0.15
        parts.append(
            _html(
                '<g><title>{}</title><rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" '
                'fill="{}"/></g>',
                bar.tooltip,
                x,
                top + plot_h - h,
                slot * 0.7,
                h,
                BAR,
            )
        )
        parts.append(
            _html(
                '<text x="{:.1f}" y="{}" text-anchor="end" fill="{}" '
                'transform="rotate(-40 {:.1f} {})">{}</text>',
                x + slot * 0.35,
                top + plot_h + 14,
                INK,
                x + slot * 0.35,
                top + plot_h + 14,
                bar.label,
            )
        )
    return _svg(width, height, label, mark_safe("".join(parts)))  # noqa: S308 - parts are format_html


def _value_axis(left: int, top: int, plot_w: float, plot_h: float, peak: float, unit: str):
    ticks = [peak * i / 4 for i in range(5)]
    lines = mark_safe(  # noqa: S308 - each part is _html
        "".join(
            _html(
                '<line x1="{}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="{}"/>'
                '<text x="{}" y="{:.1f}" text-anchor="end" fill="{}">{}</text>',
                left,
                float(left + plot_w),
                float(top + plot_h - plot_h * t / peak),
                float(top + plot_h - plot_h * t / peak),
                LINE,
                left - 6,
                float(top + plot_h - plot_h * t / peak + 4),
                MUTED,
                _tick(t),
            )
            for t in ticks
        )
    )
    caption = _html('<text x="4" y="{}" fill="{}">{}</text>', top - 10, MUTED, unit)
    return lines + caption


def hbar_chart(bars: list[Bar], *, label: str, unit: str) -> SafeString:
    """Horizontal bars (e.g. one per state or per staff member), labels on the left, the value
    at the end of each bar, a value axis at the bottom labelled in `unit`."""
    row, left, top, right = 26, 170, 8, 56
    width = 640
    plot_w = width - left - right
    height = top + row * max(len(bars), 1) + 36
    peak = _nice_top(max((b.value for b in bars), default=0))
    parts = []
    for i, bar in enumerate(bars):
        y = top + i * row
        w = plot_w * bar.value / peak
        parts.append(
            _html(
                '<text x="{}" y="{}" text-anchor="end" fill="{}">{}</text>'
                '<g><title>{}</title><rect x="{}" y="{}" width="{:.1f}" height="{}" fill="{}"/>'
                "</g>"
                '<text x="{:.1f}" y="{}" fill="{}">{}</text>',
                left - 8,
                y + 17,
                INK,
                bar.label[:24],
                bar.tooltip,
                left,
                y + 4,
                w,
                row - 8,
                BAR,
                left + w + 4,
                y + 17,
                INK,
                _tick(bar.value),
            )
        )
    base = top + row * max(len(bars), 1) + 4
    grid = []
    for i in range(5):
        t = peak * i / 4
        x = left + plot_w * i / 4
        grid.append(
            _html(
                '<line x1="{:.1f}" x2="{:.1f}" y1="{}" y2="{}" stroke="{}"/>'
                '<text x="{:.1f}" y="{}" text-anchor="middle" fill="{}">{}</text>',
                x,
                x,
                top,
                base,
                LINE,
                x,
                base + 14,
                MUTED,
                _tick(t),
            )
        )
    parts.append(
        _html(
            '<text x="{}" y="{}" text-anchor="end" fill="{}">{}</text>',
            width - 4,
            base + 28,
            MUTED,
            unit,
        )
    )
    return _svg(width, height, label, mark_safe("".join(grid + parts)))  # noqa: S308 - parts are format_html
