-- Every mart column declares a data type, a description and meta with the purpose of
-- its folder and a known classification.
{%- set folder_purposes = {
    'justice': 'justice_profile',
    'handover': 'warm_handover',
    'steering': 'steering',
    'municipal_funded': 'municipal_billing',
} %}
{%- set classifications = [
    'pseudonymous', 'operational', 'criminal', 'social', 'health', 'aggregate',
] %}
{%- set violations = [] %}
{%- if execute %}
    {%- for node in graph.nodes.values() %}
        {%- if node.resource_type == 'model'
            and node.package_name == project_name
            and node.fqn[1] == 'marts' %}
            {%- set expected_purpose = folder_purposes.get(node.fqn[2]) %}
            {%- if expected_purpose is none %}
                {%- do violations.append((node.name, '', 'mart folder has no purpose')) %}
            {%- endif %}
            {%- if not node.columns %}
                {%- do violations.append((node.name, '', 'no columns declared')) %}
            {%- endif %}
            {%- for column in node.columns.values() %}
                {%- set meta = column.meta or {} %}
                {%- if not column.data_type %}
                    {%- do violations.append((node.name, column.name, 'no data_type')) %}
                {%- endif %}
                {%- if not column.description %}
                    {%- do violations.append((node.name, column.name, 'no description')) %}
                {%- endif %}
                {%- if meta.get('purpose') != expected_purpose %}
                    {%- set problem = 'purpose is not ' ~ expected_purpose %}
                    {%- do violations.append((node.name, column.name, problem)) %}
                {%- endif %}
                {%- if meta.get('classification') not in classifications %}
                    {%- do violations.append((node.name, column.name, 'unknown classification')) %}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
    {%- endfor %}
{%- endif %}

{% if violations %}
    {%- for model_name, column_name, problem in violations %}
        select
            '{{ model_name }}' as model_name,
            '{{ column_name }}' as column_name,
            '{{ problem }}' as problem
        {{ 'union all' if not loop.last }}
    {%- endfor %}
{% else %}
    select
        cast(null as varchar) as model_name,
        cast(null as varchar) as column_name,
        cast(null as varchar) as problem
    where 1 = 0
{% endif %}
