"""OpenLineage run events for every materialisation, with the `ketenbrug_purpose` facet."""
