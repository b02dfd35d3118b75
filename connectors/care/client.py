"""Care providers over FHIR R4: an EpisodeOfCare search, its patients' BSNs, paged by `next`.

Each page asks for the patients too (`_include=EpisodeOfCare:patient`); what a page holds is
read by connectors/care/fhir.py. An episode names its patient in one of the ways a
Reference may (https://hl7.org/fhir/R4/references.html), and the BSN is found accordingly:
- a logical reference, `patient.identifier` of the BSN NamingSystem: taken as it is;
- a contained Patient (`#id`): read from the episode's `contained`;
- a literal reference (`Patient/<id>`, relative to the service base, or absolute): the
  Patient the page included, or, when the server did not include it, read with
  `GET Patient/<id>` (once per pull), on this source only.
The episode then leaves the connector with its patient reduced to that BSN identifier:
no reference, display or contained resource; the allowlist takes the rest.

`next` links are resolved against the URL of the request whose answer carried them
(RFC 3986 §5), so absolute and relative links both work, and one that resolves to
another origin is refused before the credential goes there.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from ketenbrug.connectors.base import Pages, SourceConnector
from ketenbrug.connectors.body import Body
from ketenbrug.connectors.care.fhir import (
    BSN_SYSTEM,
    Searchset,
    outcome_summary,
    patient_bsn,
    read_searchset,
)
from ketenbrug.connectors.manifest import DatasetManifest

PAGE_SIZE = 100
FHIR_BASE = "/fhir"
SEARCH = "EpisodeOfCare"
INCLUDE_PATIENT = "EpisodeOfCare:patient"


class CareConnector(SourceConnector):
    source = "care"

    def _auth_headers(self) -> dict[str, str]:
        return {**super()._auth_headers(), "Accept": "application/fhir+json"}

    def _error_detail(self, body: dict) -> str | None:
        if body.get("resourceType") != "OperationOutcome":
            return None
        return f"OperationOutcome {outcome_summary(body)}"

    @property
    def service_base(self) -> str:
        """The FHIR service base URL, with the slash RFC 3986 resolution needs."""
        return self.settings.base_url.rstrip("/") + FHIR_BASE + "/"

    def _pages(self, dataset: DatasetManifest, since: str | None) -> Pages:
        params: dict[str, int | str] = {"_count": PAGE_SIZE, "_include": INCLUDE_PATIENT}
        if since:
            params["_lastUpdated"] = f"ge{since}"
        url = _prepared(urljoin(self.service_base, SEARCH), params)
        read_patients: dict[str, str | None] = {}
        while True:
            body = self._get(url)
            page = read_searchset(body)
            yield [self._with_bsn_only(body, episode, page, read_patients)
                   for episode in page.matches]
            if page.next_link is None:
                return
            url = self._on_this_source(body, urljoin(url, page.next_link), "'next' link")

    def _with_bsn_only(self, body: Body, episode: dict[str, Any], page: Searchset,
                       read_patients: dict[str, str | None]) -> dict[str, Any]:
        bsn = self._bsn(body, episode, page, read_patients)
        reduced = {k: v for k, v in episode.items() if k not in ("patient", "contained")}
        reduced["patient"] = {"identifier": {"system": BSN_SYSTEM, "value": bsn}} if bsn else {}
        return reduced

    def _bsn(self, body: Body, episode: dict[str, Any], page: Searchset,
             read_patients: dict[str, str | None]) -> str | None:
        where = f"episode {episode.get('id')!r}"  # a source key, not personal data
        patient = episode.get("patient")
        if not isinstance(patient, dict):
            return None
        identifier = patient.get("identifier")
        if isinstance(identifier, dict) and identifier.get("system") == BSN_SYSTEM:
            value = identifier.get("value")
            return value if isinstance(value, str) else None
        reference = patient.get("reference")
        if not isinstance(reference, str) or not reference:
            return None
        if reference.startswith("#"):
            return _contained_bsn(body, where, episode, reference[1:])
        absolute = urljoin(self.service_base, reference)
        for known in (reference, absolute):
            if known in page.patient_bsns:
                return page.patient_bsns[known]
        if absolute not in read_patients:
            read_patients[absolute] = self._read_patient(body, where, absolute)
        return read_patients[absolute]

    def _read_patient(self, body: Body, where: str, url: str) -> str | None:
        """`GET Patient/<id>` for a patient the search did not include."""
        if not urlsplit(url).path.startswith(urlsplit(self.service_base).path + "Patient/"):
            raise body.wrong(f"{where}'s patient reference is not to a Patient")
        target = self._on_this_source(body, url, f"{where}'s patient reference")
        patient = self._get(target)
        return patient_bsn(patient, "the Patient", patient.data)

    def _on_this_source(self, body: Body, url: str, what: str) -> str:
        """`url`, refused when it leaves the source (another scheme, host or port): the
        session would send it the source's credential."""
        if _origin(url) != _origin(self.settings.base_url):
            raise body.wrong(f"{what} points outside the source")
        return url


def _contained_bsn(body: Body, where: str, episode: dict[str, Any], local_id: str) -> str | None:
    for resource in episode.get("contained") or ():
        if isinstance(resource, dict) and resource.get("id") == local_id:
            return patient_bsn(body, f"{where}'s contained patient", resource)
    raise body.wrong(f"{where}'s patient reference names no contained resource")


def _prepared(url: str, params: dict[str, int | str]) -> str:
    """`url` with `params` encoded as requests sends them: the URL later links resolve against."""
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, params)
    return prepared.url or url


def _origin(url: str) -> tuple[str, str | None, int | None]:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        return "", None, None
