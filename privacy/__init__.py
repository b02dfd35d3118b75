"""Privacy core: keys, pseudonyms, identity vault, re-identification, sealing, disclosure log.

Knows nothing of Dagster; `pipelines/` wires it in.
"""

from ketenbrug.privacy.bsn import is_valid_bsn
from ketenbrug.privacy.checkpoints import checkpoint_log
from ketenbrug.privacy.disclosure_log import (
    LogError,
    append_entry,
    log_head,
    read_log,
    read_log_contents,
    verify_log,
)
from ketenbrug.privacy.file_modes import FileModeError
from ketenbrug.privacy.keys import (
    KeyMaterialError,
    KeyMismatch,
    KeyRing,
    KeyStore,
    load_or_create_keyring,
)
from ketenbrug.privacy.log_audit import verify_audit
from ketenbrug.privacy.log_witnesses import keep_witness
from ketenbrug.privacy.opened_packages import OpenedPackages
from ketenbrug.privacy.pseudonyms import (
    INTERNAL_DOMAIN,
    PseudonymError,
    Pseudonymiser,
    key_version_of,
    linkage_basis,
    payload_hasher,
)
from ketenbrug.privacy.reidentify import NotPermitted, Recipient, reidentify
from ketenbrug.privacy.rotation import (
    LinkageInconsistent,
    LinkageState,
    RotationReport,
    linkage_state,
    rotate_keys,
)
from ketenbrug.privacy.sealing import PackageError, open_package, seal_package
from ketenbrug.privacy.vault import IdentityRecord, IdentityVault, VaultError

__all__ = [
    "FileModeError", "KeyMismatch", "OpenedPackages",
    "INTERNAL_DOMAIN", "IdentityRecord", "IdentityVault", "KeyMaterialError", "KeyRing",
    "KeyStore", "LinkageInconsistent", "LinkageState", "NotPermitted", "PackageError",
    "PseudonymError", "Pseudonymiser", "Recipient", "RotationReport", "VaultError",
    "append_entry", "is_valid_bsn", "key_version_of", "linkage_basis", "linkage_state",
    "load_or_create_keyring", "open_package", "payload_hasher", "read_log", "reidentify",
    "rotate_keys", "seal_package", "verify_log",
    "LogError", "checkpoint_log", "keep_witness", "log_head", "read_log_contents",
    "verify_audit",
]
