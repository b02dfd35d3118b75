-- The warm-handover set never carries offence, order conditions, risk scores or health
-- details: no column of warm_handover may be named like one.
{%- set forbidden = [
    'offence', 'risc', 'risk', 'condition_code', 'supervision_conditions',
    'conditions_json', 'care_category', 'diagnosis', 'bsn', 'name', 'birth',
] %}
{%- set violations = [] %}
{%- if execute %}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.warm_handover'] %}
    {%- for column in node.columns.keys() %}
        {%- for word in forbidden %}
            {%- if word in column %}
                {%- do violations.append((column, word)) %}
            {%- endif %}
        {%- endfor %}
    {%- endfor %}
{%- endif %}

{% if violations %}
    {%- for column_name, word in violations %}
        select
            '{{ column_name }}' as column_name,
            '{{ word }}' as forbidden_word
        {{ 'union all' if not loop.last }}
    {%- endfor %}
{% else %}
    select
        cast(null as varchar) as column_name,
        cast(null as varchar) as forbidden_word
    where 1 = 0
{% endif %}
