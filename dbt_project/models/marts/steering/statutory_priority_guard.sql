{#
    Statutory tasks first: per safety region and month, the statutory backlog beside the
    hours booked on municipal-funded agreements, flagging municipal work done while
    statutory orders waited in the same region. The one declared crossing between the
    lineages (contracts/lineages.yaml): it reads the aggregate-only hours of the
    municipal-funded side; nothing flows back into billing.

    - Months: every month in which either side has something (full outer join).
    - Flag: is_municipal_work_during_backlog when hours were booked and at least one
      statutory order waited; never for region 'unknown', which is not one place.
    - Small cells, as in volume_monitor: a waiting count from 1 to
      small_cell_threshold - 1 is NULL; when any type count is suppressed the total is
      too (it would give the suppressed one back), and when the total is small every
      count is. has_statutory_backlog stays visible: it says only "not zero".
#}
with

backlog as (
    select * from {{ ref('int_statutory_backlog_by_region_month') }}
),

municipal_hours as (
    select * from {{ ref('int_municipal_hours_by_region_month') }}
),

joined as (
    select
        coalesce(backlog.safety_region, municipal_hours.safety_region) as safety_region,
        coalesce(backlog.month_date, municipal_hours.month_date) as month_date,
        coalesce(backlog.advies_waiting_orders, 0) as advies_waiting_orders,
        coalesce(backlog.toezicht_waiting_orders, 0) as toezicht_waiting_orders,
        coalesce(backlog.werkstraf_waiting_orders, 0) as werkstraf_waiting_orders,
        coalesce(backlog.waiting_orders, 0) as waiting_orders,
        coalesce(municipal_hours.municipal_hours_booked, 0) as municipal_hours_booked,
        coalesce(municipal_hours.municipal_bookings, 0) as municipal_bookings
    from backlog
    full outer join municipal_hours
        on
            backlog.safety_region = municipal_hours.safety_region
            and backlog.month_date = municipal_hours.month_date
),

small_flags as (
    select
        *,
        {{ is_small_cell('waiting_orders') }}
            as is_total_small,
        {{ is_small_cell('advies_waiting_orders') }}
            as is_advies_small,
        {{ is_small_cell('toezicht_waiting_orders') }}
            as is_toezicht_small,
        {{ is_small_cell('werkstraf_waiting_orders') }}
            as is_werkstraf_small
    from joined
),

flagged as (
    select
        {{ surrogate_key(['safety_region', 'month_date']) }} as guard_cell_id,
        safety_region,
        month_date,
        case when not (is_total_small or is_advies_small) then advies_waiting_orders end
            as advies_waiting_orders,
        case when not (is_total_small or is_toezicht_small) then toezicht_waiting_orders end
            as toezicht_waiting_orders,
        case
            when not (is_total_small or is_werkstraf_small) then werkstraf_waiting_orders
        end as werkstraf_waiting_orders,
        case
            when not (is_total_small or is_advies_small or is_toezicht_small or is_werkstraf_small)
                then waiting_orders
        end as statutory_waiting_orders,
        waiting_orders > 0 as has_statutory_backlog,
        municipal_hours_booked,
        municipal_bookings,
        (
            waiting_orders > 0
            and municipal_hours_booked > 0
            and safety_region <> 'unknown'
        ) as is_municipal_work_during_backlog,
        (is_total_small or is_advies_small or is_toezicht_small or is_werkstraf_small)
            as is_suppressed
    from small_flags
),

final as (
    select
        cast(guard_cell_id as varchar) as guard_cell_id,
        cast(safety_region as varchar) as safety_region,
        cast(month_date as date) as month_date,
        cast(advies_waiting_orders as integer) as advies_waiting_orders,
        cast(toezicht_waiting_orders as integer) as toezicht_waiting_orders,
        cast(werkstraf_waiting_orders as integer) as werkstraf_waiting_orders,
        cast(statutory_waiting_orders as integer) as statutory_waiting_orders,
        cast(has_statutory_backlog as boolean) as has_statutory_backlog,
        cast(municipal_hours_booked as decimal(10, 2)) as municipal_hours_booked,
        cast(municipal_bookings as integer) as municipal_bookings,
        cast(is_municipal_work_during_backlog as boolean) as is_municipal_work_during_backlog,
        cast(is_suppressed as boolean) as is_suppressed
    from flagged
)

select * from final
