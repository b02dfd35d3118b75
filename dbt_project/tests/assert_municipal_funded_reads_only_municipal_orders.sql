-- Nothing flows into the municipal-funded lineage from the statutory one: its models
-- (intermediate/municipal_funded, marts/municipal_funded) read only the municipal_orders
-- staging models, each other, and reference seeds. The one declared crossing runs the
-- other way, out of this lineage (../contracts/lineages.yaml; checked in full, both
-- directions and the Dagster graph too, by ketenbrug/audit/funding_separation.py).
{%- set lineage_folders = [
    ['staging', 'municipal_orders'],
    ['intermediate', 'municipal_funded'],
    ['marts', 'municipal_funded'],
] %}
{%- set violations = [] %}
{%- if execute %}
    {%- for node in graph.nodes.values() %}
        {%- if node.resource_type == 'model'
            and node.package_name == project_name
            and node.fqn[1:3] in lineage_folders[1:] %}
            {%- for parent_id in node.depends_on.nodes %}
                {%- set parent = graph.nodes.get(parent_id) %}
                {%- set allowed = parent is not none and (
                    parent.resource_type == 'seed'
                    or (parent.resource_type == 'model' and parent.fqn[1:3] in lineage_folders)
                ) %}
                {%- if not allowed %}
                    {%- do violations.append((node.name, parent_id)) %}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
    {%- endfor %}
{%- endif %}

{% if violations %}
    {%- for model_name, parent in violations %}
        select
            '{{ model_name }}' as model_name,
            '{{ parent }}' as forbidden_parent
        {{ 'union all' if not loop.last }}
    {%- endfor %}
{% else %}
    select
        cast(null as varchar) as model_name,
        cast(null as varchar) as forbidden_parent
    where 1 = 0
{% endif %}
