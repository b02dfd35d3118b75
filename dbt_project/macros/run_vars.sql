{#
    The project's vars, validated once. Each renders a SQL literal.
#}

{# as_of_date: 'YYYY-MM-DD'; empty or null means the UTC date the run started. #}
{% macro as_of_date() -%}
    {%- set configured = var('as_of_date', none) -%}
    {%- if configured is none or (configured | string | trim) == '' -%}
        {%- set configured = run_started_at.strftime('%Y-%m-%d') -%}
    {%- endif -%}
    {%- set configured = configured | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', configured) -%}
        {{ exceptions.raise_compiler_error(
            "var as_of_date must be 'YYYY-MM-DD', got '" ~ configured ~ "'"
        ) }}
    {%- endif -%}
    cast('{{ configured }}' as date)
{%- endmacro %}

{# A whole-number var (window days, thresholds); refuses anything else. #}
{% macro int_var(name) -%}
    {%- set value = var(name) | string | trim -%}
    {%- if not modules.re.match('^[0-9]+$', value) -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be a non-negative whole number, got '" ~ value ~ "'"
        ) }}
    {%- endif -%}
    {{ value | int }}
{%- endmacro %}
