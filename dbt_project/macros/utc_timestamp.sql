{#
    ISO 8601 text with an offset ('2026-11-29T06:00:00Z') to a timestamp without time
    zone in UTC. A plain cast would drop the offset instead of applying it.
    Same SQL on DuckDB (ICU, built in) and PostgreSQL.
#}
{% macro utc_timestamp(column) -%}
    cast(cast({{ column }} as timestamp with time zone) at time zone 'UTC' as timestamp)
{%- endmacro %}
