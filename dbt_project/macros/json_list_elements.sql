{#
    Set-returning expression: one row per element of a JSON array held as text
    ('["meldplicht","drugsverbod"]'), each element as text. Use it in a select list:
        select order_id, {{ json_list_elements('conditions_json') }} as condition_code
    A NULL or empty list yields no rows.
#}
{% macro json_list_elements(column) -%}
    {{ return(adapter.dispatch('json_list_elements', 'ketenbrug')(column)) }}
{%- endmacro %}

{% macro duckdb__json_list_elements(column) -%}
    unnest(from_json({{ column }}, '["varchar"]'))
{%- endmacro %}

{% macro postgres__json_list_elements(column) -%}
    jsonb_array_elements_text(cast({{ column }} as jsonb))
{%- endmacro %}

{% macro default__json_list_elements(column) -%}
    {{ exceptions.raise_compiler_error(
        "json_list_elements has no implementation for adapter " ~ adapter.type()
    ) }}
{%- endmacro %}
