"""Who acts: a logged-in :class:`~lms.models.Person`, or the system (the command line, jobs).

Every service takes an acting person explicitly. ``None`` is never "skip the checks": a service
given ``None`` is refused like an anonymous visitor. The command line and background jobs that
act for nobody in particular pass :data:`SYSTEM`, which the permission rules let do everything
and which the audit log records as "Hệ thống" (no person).

A job started by a person (an import, a bulk enrolment) runs as that person, so their scope
still applies in the worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from lms.models import Person, Role


class SystemActor:
    """The system itself: every permission, no account, no id."""

    id = None
    is_system = True
    active = True
    is_authenticated = False
    is_anonymous = False
    full_name = "Hệ thống"
    email = ""
    roles: tuple = ()
    role_set: frozenset = frozenset()

    def __init__(self, via: str) -> None:
        #: ``cli`` or ``job``: where the action came from (for logs).
        self.via = via

    def has_role(self, role: "Role") -> bool:
        return False

    def __repr__(self) -> str:
        return f"<SystemActor {self.via}>"


#: The command line's actor.
SYSTEM = SystemActor("cli")
#: Background jobs that act for nobody in particular (scheduled work).
SYSTEM_JOB = SystemActor("job")

Actor = Union["Person", SystemActor]


def is_system(actor: object) -> bool:
    return isinstance(actor, SystemActor)
