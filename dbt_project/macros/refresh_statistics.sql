{#- A post-hook of every model: on PostgreSQL, ANALYZE a table just built, so the models
    that read it next are planned on what it holds (autovacuum analyses only after a
    delay). Nothing for a view, nor on DuckDB, which keeps its statistics as it writes
    (an empty hook is not run). -#}
{% macro refresh_statistics() %}
  {%- if target.type == 'postgres' and config.get('materialized') == 'table' -%}
    analyze {{ this }}
  {%- endif -%}
{% endmacro %}
