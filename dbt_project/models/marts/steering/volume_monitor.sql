{#
    Steering volumes per organisation, order type, safety region (of the client's
    residence; 'unknown' when not known) and inflow month (the month the order started;
    orders without a start date count in the month of as_of_date). Counts are distinct
    persons in that cohort: all (inflow) and those whose order is now active,
    completed or waiting.

    Small cells: a count from 1 to small_cell_threshold - 1 is replaced by NULL. Because
    inflow is (about) active + completed + waiting, a lone suppressed count could be
    recomputed from the others: so when any count is suppressed the inflow is too, and
    when the inflow itself is small every count is. Zero describes nobody and is shown
    unless the inflow is small. is_suppressed marks every row with a NULL count.
#}
with

orders as (
    select * from {{ ref('stg_probation__orders') }}
),

clients as (
    select * from {{ ref('stg_probation__clients') }}
),

municipalities as (
    select * from {{ ref('municipalities') }}
),

order_facts as (
    select
        coalesce(orders.organisation, clients.organisation) as organisation,
        orders.order_type,
        coalesce(municipalities.safety_region, 'unknown') as safety_region,
        cast(
            date_trunc('month', coalesce(orders.start_date, {{ as_of_date() }})) as date
        ) as inflow_month_date,
        coalesce(clients.person_pseudonym, orders.client_id) as person_key,
        orders.order_status
    from orders
    left join clients
        on orders.client_id = clients.client_id
    left join municipalities
        on clients.residence_municipality_code = municipalities.cbs_code
),

cells as (
    select
        organisation,
        order_type,
        safety_region,
        inflow_month_date,
        count(distinct person_key) as inflow_persons,
        count(distinct case when order_status = 'active' then person_key end)
            as active_persons,
        count(distinct case when order_status = 'completed' then person_key end)
            as completed_persons,
        count(distinct case when order_status = 'waiting' then person_key end)
            as waiting_persons
    from order_facts
    group by organisation, order_type, safety_region, inflow_month_date
),

small_flags as (
    select
        *,
        {{ is_small_cell('inflow_persons') }}
            as is_inflow_small,
        {{ is_small_cell('active_persons') }}
            as is_active_small,
        {{ is_small_cell('completed_persons') }}
            as is_completed_small,
        {{ is_small_cell('waiting_persons') }}
            as is_waiting_small
    from cells
),

suppressed as (
    select
        {{ surrogate_key(['organisation', 'order_type', 'safety_region', 'inflow_month_date']) }}
            as cell_id,
        organisation,
        order_type,
        safety_region,
        inflow_month_date,
        case
            when not (is_inflow_small or is_active_small or is_completed_small or is_waiting_small)
                then inflow_persons
        end as inflow_persons,
        case when not (is_inflow_small or is_active_small) then active_persons end
            as active_persons,
        case when not (is_inflow_small or is_completed_small) then completed_persons end
            as completed_persons,
        case when not (is_inflow_small or is_waiting_small) then waiting_persons end
            as waiting_persons,
        (is_inflow_small or is_active_small or is_completed_small or is_waiting_small)
            as is_suppressed
    from small_flags
),

final as (
    select
        cast(cell_id as varchar) as cell_id,
        cast(organisation as varchar) as organisation,
        cast(order_type as varchar) as order_type,
        cast(safety_region as varchar) as safety_region,
        cast(inflow_month_date as date) as inflow_month_date,
        cast(inflow_persons as integer) as inflow_persons,
        cast(active_persons as integer) as active_persons,
        cast(completed_persons as integer) as completed_persons,
        cast(waiting_persons as integer) as waiting_persons,
        cast(is_suppressed as boolean) as is_suppressed
    from suppressed
)

select * from final
