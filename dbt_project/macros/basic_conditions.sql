{# The five basic conditions (basisvoorwaarden), in the order used everywhere. #}
{% macro basic_conditions() -%}
    {{ return(['valid_id', 'housing', 'income', 'debts', 'care']) }}
{%- endmacro %}

{# Status values a source may state for a basic condition. #}
{% macro basic_condition_statuses() -%}
    {{ return(['arranged', 'not_arranged', 'unknown']) }}
{%- endmacro %}
