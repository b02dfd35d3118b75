-- The municipal_funded marts form a separate lineage: they depend on the
-- municipal_orders staging models and on nothing else.
{%- set violations = [] %}
{%- if execute %}
    {%- for node in graph.nodes.values() %}
        {%- if node.resource_type == 'model'
            and node.package_name == project_name
            and node.fqn[1:3] == ['marts', 'municipal_funded'] %}
            {%- for parent in node.depends_on.nodes %}
                {%- if not parent.startswith('model.' ~ project_name ~ '.stg_municipal_orders__') %}
                    {%- do violations.append((node.name, parent)) %}
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
