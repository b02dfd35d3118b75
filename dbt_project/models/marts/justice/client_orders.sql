{#
    The open orders behind each client profile, one row per order: type, start, end and
    status, for the organisation that runs the order and only for clients it profiles.
    Open means waiting or active; completed orders are history, not work to act on.
    Keyed like client_profiles (the organisation-domain pseudonym), so an organisation
    can join the two and never sees the hub's internal pseudonym or another
    organisation's orders.
#}
with

clients as (
    select * from {{ ref('stg_probation__clients') }}
),

orders as (
    select * from {{ ref('stg_probation__orders') }}
),

domain_pseudonyms as (
    select * from {{ ref('stg_privacy__domain_pseudonyms') }}
),

open_orders as (
    select
        orders.order_id,
        clients.person_pseudonym,
        clients.organisation,
        orders.order_type,
        orders.order_status,
        orders.start_date,
        orders.end_date
    from orders
    inner join clients
        on
            orders.client_id = clients.client_id
            and orders.organisation = clients.organisation
    where
        orders.order_status in ('waiting', 'active')
        and clients.person_pseudonym is not null
),

keyed as (
    select
        {{ surrogate_key(['open_orders.organisation', 'open_orders.order_id']) }}
            as client_order_id,
        domain_pseudonyms.domain_pseudonym as client_pseudonym,
        open_orders.organisation,
        open_orders.order_type,
        open_orders.order_status,
        open_orders.start_date,
        open_orders.end_date
    from open_orders
    inner join domain_pseudonyms
        on
            open_orders.person_pseudonym = domain_pseudonyms.person_pseudonym
            and open_orders.organisation = domain_pseudonyms.pseudonym_domain
),

final as (
    select
        cast(client_order_id as varchar) as client_order_id,
        cast(client_pseudonym as varchar) as client_pseudonym,
        cast(organisation as varchar) as organisation,
        cast(order_type as varchar) as order_type,
        cast(order_status as varchar) as order_status,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date
    from keyed
)

select * from final
