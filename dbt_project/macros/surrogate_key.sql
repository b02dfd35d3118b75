{#
    Deterministic surrogate key: md5 over the fields as text, joined with '|', NULL
    written as '_null_' so that (NULL, 'a') and ('', 'a') differ. md5() exists with the
    same result on DuckDB and PostgreSQL.
#}
{% macro surrogate_key(fields) -%}
    md5(
        {%- for field in fields %}
        coalesce(cast({{ field }} as varchar), '_null_'){{ " || '|' ||" if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}
