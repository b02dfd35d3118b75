"""Who causes a disclosure: the person (login subject), their role and organisation.

Every disclosure-log entry names its actor. The portal sets it per request from the
session (`acting_as`); the CLI from the operating-system user, or an explicit
`ketenbrug --as SUBJECT`, with the role the command acts in; a pipeline run from who
started it. An entry written with no actor set names the operating-system user of the
process and the role `unattended`, never a generic role name standing in for a person.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass

HUB_ORGANISATION = "hub"


@dataclass(frozen=True)
class Actor:
    subject: str  # the login's subject (OIDC `sub`, local account name, OS user)
    role: str
    organisation: str
    via: str  # how the subject was established: portal-oidc, portal-local, cli, pipeline

    def as_entry(self) -> dict:
        return asdict(self)


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        import os

        return f"uid:{os.getuid()}"


_current: ContextVar[Actor | None] = ContextVar("ketenbrug_actor", default=None)
_cli_subject: ContextVar[str | None] = ContextVar("ketenbrug_cli_subject", default=None)


def current_actor() -> Actor:
    """The actor of what is being done now (see the module's docstring)."""
    return _current.get() or Actor(_cli_subject.get() or os_user(), "unattended",
                                   HUB_ORGANISATION, "cli")


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Entries written inside the block name `actor`."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def set_cli_subject(subject: str | None) -> None:
    """`ketenbrug --as SUBJECT`: the person the command acts for, instead of the OS user."""
    _cli_subject.set(subject)


def cli_actor(role: str, organisation: str = HUB_ORGANISATION) -> Actor:
    """The CLI's actor in `role`: `--as SUBJECT` if given, else the OS user."""
    return Actor(_cli_subject.get() or os_user(), role, organisation, "cli")
