"""Purpose-limited connectors, one per source system. No Dagster and no keys in here."""

from connectors.base import Extract, SourceConnector
from connectors.care.client import CareConnector
from connectors.dji.client import DjiConnector
from connectors.http import HttpSettings, SourceError
from connectors.manifest import SOURCES, DatasetManifest, all_datasets, load_manifest
from connectors.municipal_orders.client import MunicipalOrdersConnector
from connectors.probation.client import ProbationConnector
from connectors.wijkteam.client import WijkteamConnector

CONNECTORS: dict[str, type[SourceConnector]] = {
    c.source: c for c in (ProbationConnector, DjiConnector, WijkteamConnector, CareConnector,
                          MunicipalOrdersConnector)
}

__all__ = [
    "CONNECTORS", "SOURCES", "DatasetManifest", "Extract", "HttpSettings", "SourceConnector",
    "SourceError", "all_datasets", "load_manifest",
]
