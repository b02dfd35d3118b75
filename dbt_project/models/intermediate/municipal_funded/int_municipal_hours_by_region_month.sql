{#
    Hours booked on municipal-funded agreements per safety region (of the contracting
    municipality) and booking month. Aggregates only - no agreement or booking id leaves
    this model, because the statutory-priority guard (a declared lineage crossing) reads
    it. All booked hours count, billed or not: the guard asks whether the work was done
    while statutory work waited, not whether it was paid for.
#}
with

agreements as (
    select * from {{ ref('stg_municipal_orders__agreements') }}
),

bookings as (
    select * from {{ ref('stg_municipal_orders__bookings') }}
),

municipalities as (
    select * from {{ ref('municipalities') }}
),

booking_facts as (
    select
        coalesce(municipalities.safety_region, 'unknown') as safety_region,
        cast(date_trunc('month', bookings.booking_date) as date) as month_date,
        agreements.agreement_id,
        agreements.municipality_code,
        bookings.hours
    from bookings
    inner join agreements
        on bookings.agreement_id = agreements.agreement_id
    left join municipalities
        on agreements.municipality_code = municipalities.cbs_code
),

final as (
    select
        cast(safety_region as varchar) as safety_region,
        cast(month_date as date) as month_date,
        cast(sum(hours) as decimal(10, 2)) as municipal_hours_booked,
        cast(count(*) as integer) as municipal_bookings,
        cast(count(distinct agreement_id) as integer) as municipal_agreements,
        cast(count(distinct municipality_code) as integer) as municipalities
    from booking_facts
    group by safety_region, month_date
)

select * from final
