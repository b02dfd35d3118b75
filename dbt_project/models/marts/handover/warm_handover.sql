{#
    The warm-handover set (Pm art. 20d): people whose release or end of supervision
    falls in [as_of_date, as_of_date + handover_window_days], per municipality they
    return to. Pseudonymous: identity is attached at delivery. Never offence, order
    conditions, risk scores or health details; care is reduced to a yes/no.
#}
with

events as (
    select * from {{ ref('int_handover_events') }}
),

conditions as (
    select * from {{ ref('int_basic_conditions_latest') }}
),

spine as (
    select * from {{ ref('int_clients_spine') }}
),

involvements as (
    select * from {{ ref('stg_wijkteam__involvements') }}
),

events_in_window as (
    select *
    from events
    where
        expected_date >= {{ as_of_date() }}
        and expected_date <= {{ as_of_date() }} + {{ int_var('handover_window_days') }}
        and municipality_code is not null
),

condition_statuses as (
    select
        person_pseudonym,
        {%- for condition in basic_conditions() %}
            max(case when basic_condition = '{{ condition }}' then condition_status end)
                as {{ condition }}_status
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from conditions
    group by person_pseudonym
),

local_involvements as (
    select distinct
        person_pseudonym,
        municipality_code
    from involvements
    where person_pseudonym is not null
),

handovers as (
    select
        events_in_window.handover_id,
        events_in_window.person_pseudonym,
        events_in_window.municipality_code,
        events_in_window.event_type,
        events_in_window.expected_date,
        events_in_window.institution,
        events_in_window.contact_point,
        events_in_window.handover_route,
        {%- for condition in basic_conditions() %}
            coalesce(condition_statuses.{{ condition }}_status, 'unknown')
                as {{ condition }}_status,
        {%- endfor %}
        coalesce(spine.has_active_care_episode, false) as has_active_care_episode,
        local_involvements.person_pseudonym is not null as has_wijkteam_involvement
    from events_in_window
    left join condition_statuses
        on events_in_window.person_pseudonym = condition_statuses.person_pseudonym
    left join spine
        on events_in_window.person_pseudonym = spine.person_pseudonym
    left join local_involvements
        on
            events_in_window.person_pseudonym = local_involvements.person_pseudonym
            and events_in_window.municipality_code = local_involvements.municipality_code
),

final as (
    select
        cast(handover_id as varchar) as handover_id,
        cast(person_pseudonym as varchar) as person_pseudonym,
        cast(municipality_code as varchar) as municipality_code,
        cast(event_type as varchar) as event_type,
        cast(expected_date as date) as expected_date,
        cast(institution as varchar) as institution,
        cast(contact_point as varchar) as contact_point,
        cast(handover_route as varchar) as handover_route,
        {%- for condition in basic_conditions() %}
            cast({{ condition }}_status as varchar) as {{ condition }}_status,
        {%- endfor %}
        cast(
            {%- for condition in basic_conditions() %}
                case when {{ condition }}_status = 'arranged' then 0 else 1 end
                {{- ' +' if not loop.last }}
            {%- endfor %}
            as integer
        ) as missing_conditions_count,
        cast(care_status = 'not_arranged' or has_active_care_episode as boolean)
            as needs_care_handover,
        cast(has_wijkteam_involvement as boolean) as has_wijkteam_involvement
    from handovers
)

select * from final
