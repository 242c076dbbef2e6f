"""Credited time of a course: stored in hours (``Course.credited_hours``), shown in tiết as well,
the teaching period of Vietnamese training regulations (1 tiết = 45 minutes), e.g.
"8 tiết (6 giờ)".

:func:`periods` is the one conversion (pure); :func:`credit_label` words it for the pages.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: Length of one tiết (teaching period), in minutes.
MINUTES_PER_PERIOD = 45


def periods(hours: Decimal | int | float | str | None) -> Decimal:
    """Hours → tiết, to one decimal place (half up): 6 → 8, 1.5 → 2, 3 → 4, 2 → 2.7, 0 → 0."""
    minutes = Decimal(str(hours or 0)) * 60
    return (minutes / MINUTES_PER_PERIOD).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def number_label(value: Decimal | int | None) -> str:
    """A number of hours or tiết in the interface language: 2 → "2", 1.5 → "1,5" (Vietnamese)."""
    from flask_babel import format_decimal

    return format_decimal(Decimal(value or 0), format="#,##0.#")


def credit_label(hours: Decimal | int | None) -> str:
    """"8 tiết (6 giờ)" in the interface language."""
    from lms.i18n import lazy_gettext as _l

    return str(_l("%(periods)s tiết (%(hours)s giờ)", periods=number_label(periods(hours)),
                  hours=number_label(hours)))
