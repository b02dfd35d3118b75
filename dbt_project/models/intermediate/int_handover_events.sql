{#
    Every handover event, past or future (the window is applied in the mart):
    - release: a detention's release, on the actual release date if known, else the
      expected one; to the municipality of intended settlement. Detentions shorter than
      short_detention_days (release date minus admission date) are handed over by the
      prison service directly ('prison_direct'), all others via probation.
    - supervision_end: the end date of an active (or just completed) toezicht order; to
      the client's municipality of residence, via the probation organisation.
    The functional contact point is the probation team's mailbox from the person's most
    recently updated client record; the prison service supplies none, so a prison_direct
    handover has no contact point.
#}
with

detentions as (
    select * from {{ ref('stg_dji__detentions') }}
),

orders as (
    select * from {{ ref('stg_probation__orders') }}
),

clients as (
    select * from {{ ref('stg_probation__clients') }}
),

clients_ranked as (
    select
        person_pseudonym,
        contact_point,
        row_number() over (
            partition by person_pseudonym
            order by updated_at desc, client_id desc
        ) as recency_rank
    from clients
    where person_pseudonym is not null
),

probation_contacts as (
    select
        person_pseudonym,
        contact_point
    from clients_ranked
    where recency_rank = 1
),

releases as (
    select
        detention_id as source_record_id,
        person_pseudonym,
        coalesce(actual_release_date, expected_release_date) as expected_date,
        settlement_municipality_code as municipality_code,
        prison_code as institution,
        admission_date
    from detentions
    where
        person_pseudonym is not null
        and coalesce(actual_release_date, expected_release_date) is not null
),

release_events as (
    select
        source_record_id,
        person_pseudonym,
        'release' as event_type,
        expected_date,
        municipality_code,
        institution,
        cast(expected_date - admission_date as integer) as detention_days,
        case
            when expected_date - admission_date < {{ int_var('short_detention_days') }}
                then 'prison_direct'
            else 'probation'
        end as handover_route
    from releases
),

release_events_with_contact as (
    select
        release_events.*,
        case
            when release_events.handover_route = 'probation'
                then probation_contacts.contact_point
        end as contact_point
    from release_events
    left join probation_contacts
        on release_events.person_pseudonym = probation_contacts.person_pseudonym
),

supervision_end_events as (
    select
        orders.order_id as source_record_id,
        clients.person_pseudonym,
        'supervision_end' as event_type,
        orders.end_date as expected_date,
        clients.residence_municipality_code as municipality_code,
        orders.organisation as institution,
        cast(null as integer) as detention_days,
        'probation' as handover_route,
        clients.contact_point
    from orders
    inner join clients
        on orders.client_id = clients.client_id
    where
        orders.order_type = 'toezicht'
        and orders.order_status in ('active', 'completed')
        and orders.end_date is not null
        and clients.person_pseudonym is not null
),

events as (
    select
        source_record_id,
        person_pseudonym,
        event_type,
        expected_date,
        municipality_code,
        institution,
        contact_point,
        handover_route,
        detention_days
    from release_events_with_contact
    union all
    select
        source_record_id,
        person_pseudonym,
        event_type,
        expected_date,
        municipality_code,
        institution,
        contact_point,
        handover_route,
        detention_days
    from supervision_end_events
),

final as (
    select
        {{ surrogate_key(['event_type', 'source_record_id', 'person_pseudonym']) }}
            as handover_id,
        *
    from events
)

select * from final
