"""The lineage diagram: valid XML whatever the names hold, a node per source, dataset,
mart and recipient, an edge per lineage link with its basis or purpose."""

import xml.etree.ElementTree as ET

from ketenbrug.audit.lineage_svg import render_svg
from ketenbrug.audit.provenance import MODEL_LEVEL, Output, ProvenanceReport, SourceDataset
from ketenbrug.audit.provenance_html import render_html
from ketenbrug.audit.recipients import ActualRecipient

SVG = "{http://www.w3.org/2000/svg}"


def _dataset(label, basis):
    return SourceDataset(label=label, table="landing.x", controller="Ctrl <&>", regime="r",
                         legal_basis=basis, purposes=("handover",), contract_id="c",
                         contract_version="1.0.0", register_id="reg", retention="1y")


def _report(name="handover_mart", recipient="municipality:GM0363"):
    received = [ActualRecipient(recipient, persons=2, deliveries=3, last_at="t",
                                events=("delivery",))]
    mart = Output(name=name, kind="mart", purposes=("handover",),
                  purpose_bases={"handover": "Pm art. 20d"},
                  datasets=[_dataset("dji.detentions", "Pbw <18a> & \"more\""),
                            _dataset("dji.releases", "Pbw 18a")])
    delivery = Output(name="delivery/handover", kind="delivery", purposes=("handover",),
                      purpose_bases={"handover": "Pm art. 20d"}, datasets=mart.datasets,
                      actual_recipients=received, delivers=(name,))
    return ProvenanceReport(outputs=[mart, delivery], level=MODEL_LEVEL, generated_at="now",
                            disclosure_log=None)


def _parsed(report):
    root = ET.fromstring(render_svg(report).encode("utf-8"))
    nodes = {(g.get("data-kind"), g.get("data-name")) for g in root.iter(f"{SVG}g")
             if g.get("class") == "node"}
    edges = {(g.get("data-from"), g.get("data-to")): g for g in root.iter(f"{SVG}g")
             if g.get("class") == "edge"}
    return root, nodes, edges


def test_every_source_dataset_mart_and_recipient_is_a_node_and_every_link_an_edge():
    _, nodes, edges = _parsed(_report())
    assert nodes == {("source", "dji"), ("dataset", "dji.detentions"),
                     ("dataset", "dji.releases"), ("mart", "handover_mart"),
                     ("recipient", "municipality:GM0363")}
    assert set(edges) == {
        ("source:dji", "dataset:dji.detentions"), ("source:dji", "dataset:dji.releases"),
        ("dataset:dji.detentions", "mart:handover_mart"),
        ("dataset:dji.releases", "mart:handover_mart"),
        ("mart:handover_mart", "recipient:municipality:GM0363")}
    to_recipient = edges["mart:handover_mart", "recipient:municipality:GM0363"]
    assert to_recipient.findtext(f"{SVG}text") == "handover: 2 persons, 3 deliveries"
    assert "Pm art. 20d" in to_recipient.findtext(f"{SVG}title")
    assert "via delivery/handover" in to_recipient.findtext(f"{SVG}title")
    basis = edges["source:dji", "dataset:dji.detentions"].findtext(f"{SVG}title")
    assert basis.endswith('legal basis Pbw <18a> & "more"')  # unescaped back, intact


def test_hostile_names_stay_text():
    report = _report(name='<script>alert("x")</script>\x07',
                     recipient="municipality:GM0363&<b>")
    root, nodes, _ = _parsed(report)
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter("script"))
    assert ("recipient", "municipality:GM0363&<b>") in nodes
    assert any(name.startswith('<script>alert("x")</script>') for _, name in nodes)
    html = render_html(report)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_without_recipients_or_datasets_the_diagram_is_still_a_document():
    empty = ProvenanceReport(outputs=[], level=MODEL_LEVEL, generated_at="now",
                             disclosure_log=None)
    root, nodes, edges = _parsed(empty)
    assert root.tag == f"{SVG}svg" and not nodes and not edges
