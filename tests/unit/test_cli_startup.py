"""ketenbrug/cli/startup.py: a command's imports run without the cyclic collector, and
what they made is frozen; the collector is on again afterwards, whatever happened."""

import gc
import subprocess
import sys

import pytest

from ketenbrug.cli.startup import importing

CHILD = """
import gc, sys
from ketenbrug.cli.startup import importing
collections = []
gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info))
with importing():
    import email.mime.multipart, xml.dom.minidom, json.tool  # modules not loaded yet
print(len(collections), gc.isenabled(), gc.get_freeze_count() > 0)
"""


def test_imports_run_uncollected_and_what_they_made_is_frozen():
    # A process of its own: these modules are new there, and nothing else is frozen.
    shown = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                           check=True).stdout.split()
    assert shown == ["0", "True", "True"]


def test_nothing_new_imported_freezes_nothing():
    frozen = gc.get_freeze_count()
    with importing():
        import json  # noqa: F401 - loaded long before
    # Not one more frozen (one fewer, if a frozen object was freed meanwhile); a freeze
    # here would add every object this process tracks.
    assert gc.get_freeze_count() <= frozen and gc.isenabled()


def test_the_collector_is_on_again_after_a_failed_import():
    with pytest.raises(ModuleNotFoundError), importing():
        import ketenbrug_no_such_module  # noqa: F401
    assert gc.isenabled()
