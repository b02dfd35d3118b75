{#
    Write-audit-publish: the rows of one landing table whose batch passed its contract
    checks or was released by a steward. Rows of batches that are still 'landed',
    'quarantined' or 'dropped' are never read. The only macro that calls source() on
    landing; called only from staging models.
#}
{% macro published_batch_statuses() -%}
    {{ return(['passed', 'released']) }}
{%- endmacro %}

{% macro published_rows(table_name) -%}
    select landed.*
    from {{ source('landing', table_name) }} as landed
    where landed._batch_id in (
        select batches.batch_id
        from {{ source('landing', '_batches') }} as batches
        where batches.status in (
            {%- for status in published_batch_statuses() -%}
                '{{ status }}'{{ ', ' if not loop.last }}
            {%- endfor -%}
        )
    )
{%- endmacro %}
