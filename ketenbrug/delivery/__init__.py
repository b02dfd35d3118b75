"""What leaves the hub for a recipient: warm-handover packages and billing statements for
municipalities, profile reads for probation officers; how packages travel (outbox or POST).

Importable without Dagster; `pipelines` wraps the deliveries in assets.
"""

from ketenbrug.delivery.billing import deliver_billing_statements
from ketenbrug.delivery.handover import HandoverDelivery, deliver_handover_packages
from ketenbrug.delivery.profile_reads import read_profiles

__all__ = ["HandoverDelivery", "deliver_billing_statements", "deliver_handover_packages",
           "read_profiles"]
