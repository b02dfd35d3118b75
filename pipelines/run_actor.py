"""The actor of what a pipeline run discloses: the person who started the run.

`ketenbrug demo` / `ketenbrug run` tag each run with who started it (`STARTED_BY_TAG`:
`ketenbrug --as` or the OS user); Dagster+ tags runs launched from its UI with
`dagster/user`. A run with neither (launched from the open-source UI or a schedule) names
the OS user of the process that runs the step.
"""

from __future__ import annotations

from collections.abc import Mapping

from ketenbrug.privacy.actor import HUB_ORGANISATION, Actor, os_user

STARTED_BY_TAG = "ketenbrug/started_by"


def run_actor(tags: Mapping[str, str]) -> Actor:
    subject = tags.get(STARTED_BY_TAG) or tags.get("dagster/user") or os_user()
    return Actor(subject, "pipeline_run", HUB_ORGANISATION, "pipeline")
