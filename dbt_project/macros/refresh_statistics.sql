{#- A post-hook of every table model: on PostgreSQL, ANALYZE the table just built, so the
    models that read it next are planned on what it holds (autovacuum analyses only after
    a delay). DuckDB keeps its statistics as it writes: nothing (an empty hook is not run). -#}
{% macro refresh_statistics() %}
  {%- if target.type == 'postgres' -%} analyze {{ this }} {%- endif -%}
{% endmacro %}
