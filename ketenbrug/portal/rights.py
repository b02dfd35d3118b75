"""Who may do what in the portal: decided here, and only here.

A principal is a logged-in person: subject, role and organisation. A role carries a set
of rights; a page asks for one right (`pages.page`), and what the page shows is scoped
to the principal's organisation (an officer's clients, a municipality's inbox), never to
an organisation named in the URL or a form. A missing right is a `Denied` naming it; the
app turns that into a 403 page and logs the denial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ketenbrug.privacy.actor import HUB_ORGANISATION, Actor


class Role(StrEnum):
    PROBATION_OFFICER = "probation_officer"
    MUNICIPALITY = "municipality"
    PRIVACY_OFFICER = "privacy_officer"
    DATA_STEWARD = "data_steward"


class Right(StrEnum):
    READ_CLIENT_PROFILES = "read client profiles of your organisation"
    RECEIVE_PACKAGES = "receive your municipality's packages and statements"
    MANAGE_RECIPIENT_KEY = "register your municipality's public key"
    AUDIT_LINEAGE = "see the lineage"
    AUDIT_DISCLOSURES = "read the disclosure log"
    HANDLE_SUBJECT_ACCESS = "handle subject-access requests"
    READ_REGISTER = "read the processing register"
    PLAN_RETENTION = "see the retention plan"
    STEWARD_QUARANTINE = "release or drop quarantined batches"
    READ_CONTRACT_FAILURES = "see contract failures"


ROLE_RIGHTS: dict[Role, frozenset[Right]] = {
    Role.PROBATION_OFFICER: frozenset({Right.READ_CLIENT_PROFILES}),
    Role.MUNICIPALITY: frozenset({Right.RECEIVE_PACKAGES, Right.MANAGE_RECIPIENT_KEY}),
    Role.PRIVACY_OFFICER: frozenset({Right.AUDIT_LINEAGE, Right.AUDIT_DISCLOSURES,
                                     Right.HANDLE_SUBJECT_ACCESS, Right.READ_REGISTER,
                                     Right.PLAN_RETENTION}),
    Role.DATA_STEWARD: frozenset({Right.STEWARD_QUARANTINE, Right.READ_CONTRACT_FAILURES}),
}

PROBATION_ORGANISATIONS = {"RN": "Reclassering Nederland", "SVG": "Verslavingsreclassering GGZ",
                           "LJR": "Leger des Heils Jeugdbescherming & Reclassering"}
_CBS_CODE = re.compile(r"GM\d{4}")


class Denied(Exception):
    """The principal lacks `right`; the message names it."""

    def __init__(self, right: Right, principal: Principal):
        self.right, self.principal = right, principal
        super().__init__(f"you ({principal.subject}, {principal.role_label}) lack the right "
                         f"to {right.value}")


class BadPrincipal(ValueError):
    """A role and organisation that do not go together (an account or an OIDC claim)."""


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    organisation: str
    via: str  # portal-local or portal-oidc

    def __post_init__(self) -> None:
        require_organisation(self.role, self.organisation)

    @property
    def rights(self) -> frozenset[Right]:
        return ROLE_RIGHTS[self.role]

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role] + (f" {self.organisation}"
                                         if self.organisation != HUB_ORGANISATION else "")

    def may(self, right: Right) -> bool:
        return right in self.rights

    def require(self, right: Right) -> None:
        if not self.may(right):
            raise Denied(right, self)

    def actor(self) -> Actor:
        return Actor(self.subject, self.role.value, self.organisation, self.via)


ROLE_LABELS = {Role.PROBATION_OFFICER: "reclasseringswerker",
               Role.MUNICIPALITY: "gemeente", Role.PRIVACY_OFFICER: "privacy officer",
               Role.DATA_STEWARD: "data steward"}


def require_organisation(role: Role, organisation: str) -> None:
    """Refuse (BadPrincipal) an organisation the role cannot belong to: an officer is of
    RN, SVG or LJR; a municipality is a CBS code (GM0363); the others are the hub's."""
    if role is Role.PROBATION_OFFICER and organisation not in PROBATION_ORGANISATIONS:
        raise BadPrincipal(f"a probation officer's organisation is one of "
                           f"{', '.join(PROBATION_ORGANISATIONS)}, not {organisation!r}")
    if role is Role.MUNICIPALITY and not _CBS_CODE.fullmatch(organisation):
        raise BadPrincipal(f"a municipality is its CBS code (GM0363), not {organisation!r}")
    if role in (Role.PRIVACY_OFFICER, Role.DATA_STEWARD) and organisation != HUB_ORGANISATION:
        raise BadPrincipal(f"a {role.value} belongs to the hub ({HUB_ORGANISATION!r}), "
                           f"not {organisation!r}")
