"""Purpose-limited connectors, one per source system. No Dagster and no keys in here."""

from ketenbrug.connectors.base import Extract, SourceConnector
from ketenbrug.connectors.care.client import CareConnector
from ketenbrug.connectors.dji.client import DjiConnector
from ketenbrug.connectors.http import HttpSettings, SourceError
from ketenbrug.connectors.manifest import SOURCES, DatasetManifest, all_datasets, load_manifest
from ketenbrug.connectors.municipal_orders.client import MunicipalOrdersConnector
from ketenbrug.connectors.probation.client import ProbationConnector
from ketenbrug.connectors.wijkteam.client import WijkteamConnector

CONNECTORS: dict[str, type[SourceConnector]] = {
    c.source: c for c in (ProbationConnector, DjiConnector, WijkteamConnector, CareConnector,
                          MunicipalOrdersConnector)
}

__all__ = [
    "CONNECTORS", "SOURCES", "DatasetManifest", "Extract", "HttpSettings", "SourceConnector",
    "SourceError", "all_datasets", "load_manifest",
]
