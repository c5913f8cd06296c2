"""A small cron: five fields (minute hour day-of-month month day-of-week), next firing time."""

from __future__ import annotations

from datetime import datetime, timedelta

from ._world import zone

__all__ = ["next_fire", "parse_cron"]

_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def _field(text: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, b = body.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = end = int(body)
            if step_text:
                end = high
        if start < low or end > high or start > end or step < 1:
            raise ValueError(f"cron field out of range: {part}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(expr: str) -> tuple[frozenset[int], ...]:
    """Parse `m h dom mon dow` (numbers, `*`, ranges, lists, steps; dow 0 or 7 = Sunday)."""
    parts = expr.split()
    if len(parts) != 5:
        raise ValueError("cron needs 5 fields")
    fields = [
        _field(p.replace("7", "0") if i == 4 else p, *_RANGES[i]) for i, p in enumerate(parts)
    ]
    return tuple(fields)


def next_fire(expr: str, after: datetime, tz: str = "UTC") -> datetime:
    """The first firing strictly after `after`, in time zone `tz`, as UTC."""
    minutes, hours, doms, months, dows = parse_cron(expr)
    local = after.astimezone(zone(tz)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(366 * 2):
        cron_dow = (local.weekday() + 1) % 7
        if local.month in months and local.day in doms and cron_dow in dows:
            for hour in sorted(h for h in hours if h >= local.hour):
                for minute in sorted(minutes):
                    if hour == local.hour and minute < local.minute:
                        continue
                    found = local.replace(hour=hour, minute=minute)
                    return found.astimezone(after.tzinfo)
        local = (local + timedelta(days=1)).replace(hour=0, minute=0)
    raise ValueError(f"cron never fires: {expr}")
