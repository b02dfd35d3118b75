{#
    A record lands once per version (every update or re-pull). Keep the latest version
    of each record: the newest source `updated_at`, then the latest `_received_at`, then
    the payload hash so that ties resolve the same way on every run.
    Returns every column of `relation` plus `version_rank` (always 1).
#}
{% macro latest_version(relation, record_key='_record_key') -%}
    select ranked.*
    from (
        select
            versions.*,
            row_number() over (
                partition by versions.{{ record_key }}
                order by
                    {{ utc_timestamp('versions.updated_at') }} desc nulls last,
                    versions._received_at desc,
                    versions._payload_hash desc
            ) as version_rank
        from {{ relation }} as versions
    ) as ranked
    where ranked.version_rank = 1
{%- endmacro %}
