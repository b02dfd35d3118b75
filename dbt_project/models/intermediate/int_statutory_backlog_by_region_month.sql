{#
    Statutory backlog per safety region (of the client's residence; 'unknown' when not
    known) and month: how many advice, supervision and community-service orders were
    waiting. Counts only - no person, client or order id leaves this model, because the
    statutory-priority guard (a declared lineage crossing) reads it.

    "Waiting in month M": the sources give only an order's current status. The latest
    version of an order that is waiting now has not changed since its updated_at, so it
    was waiting on every day from updated_at up to as_of_date; it counts in every month
    from the month of updated_at to the month of as_of_date. Before updated_at its status
    is unknown and it is not counted: the backlog is a lower bound, so a municipal
    booking is never flagged on a guessed backlog. Without updated_at it counts in the
    month of as_of_date only. (start_date is not used: a waiting order's start_date is
    its planned start, usually still ahead, while the wait lies before it.)
#}
with recursive

orders as (
    select * from {{ ref('stg_probation__orders') }}
),

clients as (
    select * from {{ ref('stg_probation__clients') }}
),

municipalities as (
    select * from {{ ref('municipalities') }}
),

waiting_orders as (
    select
        orders.order_type,
        coalesce(municipalities.safety_region, 'unknown') as safety_region,
        cast(
            date_trunc(
                'month',
                least(
                    coalesce(cast(orders.updated_at as date), {{ as_of_date() }}),
                    {{ as_of_date() }}
                )
            ) as date
        ) as waiting_from_month_date
    from orders
    left join clients
        on orders.client_id = clients.client_id
    left join municipalities
        on clients.residence_municipality_code = municipalities.cbs_code
    where orders.order_status = 'waiting'
),

month_spine as (
    select min(waiting_from_month_date) as month_date
    from waiting_orders
    union all
    select cast(month_date + interval '1 month' as date) as month_date
    from month_spine
    where month_date < cast(date_trunc('month', {{ as_of_date() }}) as date)
),

order_months as (
    select
        waiting_orders.safety_region,
        month_spine.month_date,
        waiting_orders.order_type
    from waiting_orders
    inner join month_spine
        on waiting_orders.waiting_from_month_date <= month_spine.month_date
),

final as (
    select
        cast(safety_region as varchar) as safety_region,
        cast(month_date as date) as month_date,
        cast(sum(case when order_type = 'advies' then 1 else 0 end) as integer)
            as advies_waiting_orders,
        cast(sum(case when order_type = 'toezicht' then 1 else 0 end) as integer)
            as toezicht_waiting_orders,
        cast(sum(case when order_type = 'werkstraf' then 1 else 0 end) as integer)
            as werkstraf_waiting_orders,
        cast(count(*) as integer) as waiting_orders
    from order_months
    group by safety_region, month_date
)

select * from final
