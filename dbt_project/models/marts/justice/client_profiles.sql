{#
    Enriched profile of each client for their own 3RO organisation, keyed by the
    organisation-domain pseudonym. Orders count as active when their status is 'active';
    hours and supervision conditions are taken over active orders only. Detention
    status on as_of_date: detained (admitted, not released by then), released (an
    earlier release), none. A client whose person has no pseudonym in the
    organisation's domain cannot be keyed and is left out (see
    assert_probation_clients_have_domain_pseudonyms). Only orders the organisation runs
    itself count (an order's organisation must be its client's), so no profile shows
    another organisation's work; the orders themselves are in client_orders.
#}
with

clients as (
    select * from {{ ref('stg_probation__clients') }}
),

orders as (
    select * from {{ ref('stg_probation__orders') }}
),

detentions as (
    select * from {{ ref('stg_dji__detentions') }}
),

conditions as (
    select * from {{ ref('int_basic_conditions_latest') }}
),

spine as (
    select * from {{ ref('int_clients_spine') }}
),

domain_pseudonyms as (
    select * from {{ ref('stg_privacy__domain_pseudonyms') }}
),

clients_ranked as (
    select
        person_pseudonym,
        organisation,
        risc_level,
        row_number() over (
            partition by person_pseudonym, organisation
            order by updated_at desc, client_id desc
        ) as recency_rank
    from clients
    where person_pseudonym is not null
),

client_persons as (
    select
        person_pseudonym,
        organisation,
        risc_level
    from clients_ranked
    where recency_rank = 1
),

active_orders as (
    select
        clients.person_pseudonym,
        clients.organisation,
        orders.order_id,
        orders.order_type,
        orders.hours_ordered,
        orders.hours_served,
        orders.conditions_json
    from orders
    inner join clients
        on
            orders.client_id = clients.client_id
            and orders.organisation = clients.organisation
    where
        orders.order_status = 'active'
        and clients.person_pseudonym is not null
),

order_summary as (
    select
        person_pseudonym,
        organisation,
        count(distinct order_id) as active_orders_count,
        string_agg(
            distinct order_type, ','
            order by order_type
        ) as active_order_types,
        sum(case when order_type = 'werkstraf' then hours_ordered end)
            as community_service_hours_ordered,
        sum(case when order_type = 'werkstraf' then hours_served end)
            as community_service_hours_served
    from active_orders
    group by person_pseudonym, organisation
),

supervision_condition_codes as (
    select
        person_pseudonym,
        organisation,
        {{ json_list_elements('conditions_json') }} as condition_code
    from active_orders
    where order_type = 'toezicht'
),

supervision_summary as (
    select
        person_pseudonym,
        organisation,
        string_agg(
            distinct condition_code, ','
            order by condition_code
        ) as supervision_conditions
    from supervision_condition_codes
    group by person_pseudonym, organisation
),

detentions_flagged as (
    select
        person_pseudonym,
        expected_release_date,
        (
            (admission_date is null or admission_date <= {{ as_of_date() }})
            and (actual_release_date is null or actual_release_date > {{ as_of_date() }})
        ) as is_current,
        actual_release_date <= {{ as_of_date() }} as is_past
    from detentions
    where person_pseudonym is not null
),

detention_summary as (
    select
        person_pseudonym,
        case
            when bool_or(is_current) then 'detained'
            when bool_or(is_past) then 'released'
            else 'none'
        end as detention_status,
        max(case when is_current then expected_release_date end) as expected_release_date
    from detentions_flagged
    group by person_pseudonym
),

condition_summary as (
    select
        person_pseudonym,
        {%- for condition in basic_conditions() %}
            max(case when basic_condition = '{{ condition }}' then condition_status end)
                as {{ condition }}_status,
            max(case when basic_condition = '{{ condition }}' then status_as_of_date end)
                as {{ condition }}_as_of_date,
            max(case when basic_condition = '{{ condition }}' then status_source end)
                as {{ condition }}_source,
            bool_or(basic_condition = '{{ condition }}' and is_disputed)
                as {{ condition }}_is_disputed
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from conditions
    group by person_pseudonym
),

profiles as (
    select
        domain_pseudonyms.domain_pseudonym as client_pseudonym,
        client_persons.organisation,
        client_persons.risc_level,
        coalesce(order_summary.active_orders_count, 0) as active_orders_count,
        order_summary.active_order_types,
        order_summary.community_service_hours_ordered,
        order_summary.community_service_hours_served,
        supervision_summary.supervision_conditions,
        coalesce(detention_summary.detention_status, 'none') as detention_status,
        detention_summary.expected_release_date,
        {%- for condition in basic_conditions() %}
            coalesce(condition_summary.{{ condition }}_status, 'unknown') as {{ condition }}_status,
            condition_summary.{{ condition }}_as_of_date,
            condition_summary.{{ condition }}_source,
            coalesce(condition_summary.{{ condition }}_is_disputed, false)
                as {{ condition }}_is_disputed,
        {%- endfor %}
        coalesce(spine.has_wijkteam_involvement, false) as has_wijkteam_involvement,
        coalesce(spine.has_active_care_episode, false) as has_active_care_episode,
        spine.active_care_categories as care_category
    from client_persons
    inner join domain_pseudonyms
        on
            client_persons.person_pseudonym = domain_pseudonyms.person_pseudonym
            and client_persons.organisation = domain_pseudonyms.pseudonym_domain
    left join order_summary
        on
            client_persons.person_pseudonym = order_summary.person_pseudonym
            and client_persons.organisation = order_summary.organisation
    left join supervision_summary
        on
            client_persons.person_pseudonym = supervision_summary.person_pseudonym
            and client_persons.organisation = supervision_summary.organisation
    left join detention_summary
        on client_persons.person_pseudonym = detention_summary.person_pseudonym
    left join condition_summary
        on client_persons.person_pseudonym = condition_summary.person_pseudonym
    left join spine
        on client_persons.person_pseudonym = spine.person_pseudonym
),

final as (
    select
        cast(client_pseudonym as varchar) as client_pseudonym,
        cast(organisation as varchar) as organisation,
        cast(risc_level as varchar) as risc_level,
        cast(active_orders_count as integer) as active_orders_count,
        cast(active_order_types as varchar) as active_order_types,
        cast(community_service_hours_ordered as integer) as community_service_hours_ordered,
        cast(community_service_hours_served as integer) as community_service_hours_served,
        cast(supervision_conditions as varchar) as supervision_conditions,
        cast(detention_status as varchar) as detention_status,
        cast(expected_release_date as date) as expected_release_date,
        {%- for condition in basic_conditions() %}
            cast({{ condition }}_status as varchar) as {{ condition }}_status,
            cast({{ condition }}_as_of_date as date) as {{ condition }}_as_of_date,
            cast({{ condition }}_source as varchar) as {{ condition }}_source,
            cast({{ condition }}_is_disputed as boolean) as {{ condition }}_is_disputed,
        {%- endfor %}
        cast(has_wijkteam_involvement as boolean) as has_wijkteam_involvement,
        cast(has_active_care_episode as boolean) as has_active_care_episode,
        cast(care_category as varchar) as care_category
    from profiles
)

select * from final
