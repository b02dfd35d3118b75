{#
    Per person and basic condition: the latest statement of each source, the status to
    act on, and whether the sources disagree.

    - The status to act on is the most recent statement (later as-of date wins).
    - Same date, different statuses: the less favourable one wins
      (not_arranged before unknown before arranged), so that nothing is taken as
      arranged while a source says on the same day it is not; on a full tie the
      source is 'dji'.
    - is_disputed: both sources state a known status (arranged or not_arranged) in
      their latest statements and the statuses differ. 'unknown' is not a position, so
      'unknown' against anything is not a dispute.
#}
with

history as (
    select * from {{ ref('int_basic_conditions_history') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by person_pseudonym, basic_condition, statement_source
            order by status_as_of_date desc
        ) as recency_rank
    from history
),

latest_per_source as (
    select
        person_pseudonym,
        basic_condition,
        max(case when statement_source = 'dji' then condition_status end) as dji_status,
        max(case when statement_source = 'dji' then status_as_of_date end) as dji_as_of_date,
        max(case when statement_source = 'wijkteam' then condition_status end) as wijkteam_status,
        max(case when statement_source = 'wijkteam' then status_as_of_date end)
            as wijkteam_as_of_date
    from ranked
    where recency_rank = 1
    group by person_pseudonym, basic_condition
),

severity as (
    select
        *,
        case dji_status
            when 'not_arranged' then 3
            when 'unknown' then 2
            when 'arranged' then 1
        end as dji_severity,
        case wijkteam_status
            when 'not_arranged' then 3
            when 'unknown' then 2
            when 'arranged' then 1
        end as wijkteam_severity
    from latest_per_source
),

resolved as (
    select
        *,
        case
            when wijkteam_as_of_date is null then 'dji'
            when dji_as_of_date is null then 'wijkteam'
            when wijkteam_as_of_date > dji_as_of_date then 'wijkteam'
            when dji_as_of_date > wijkteam_as_of_date then 'dji'
            when wijkteam_severity > dji_severity then 'wijkteam'
            else 'dji'
        end as status_source
    from severity
),

final as (
    select
        {{ surrogate_key(['person_pseudonym', 'basic_condition']) }} as person_condition_id,
        person_pseudonym,
        basic_condition,
        dji_status,
        dji_as_of_date,
        wijkteam_status,
        wijkteam_as_of_date,
        case when status_source = 'dji' then dji_status else wijkteam_status end
            as condition_status,
        case when status_source = 'dji' then dji_as_of_date else wijkteam_as_of_date end
            as status_as_of_date,
        status_source,
        coalesce(
            dji_status in ('arranged', 'not_arranged')
            and wijkteam_status in ('arranged', 'not_arranged')
            and dji_status <> wijkteam_status,
            false
        ) as is_disputed
    from resolved
)

select * from final
