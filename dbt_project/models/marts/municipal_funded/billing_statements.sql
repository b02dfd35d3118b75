{#
    Billing statement lines for municipal-funded work: per agreement (and so per
    municipality) and booking month. Reads only the municipal_orders staging models:
    this lineage shares nothing with the statutory marts.

    Rules
    - Period: a booking dated before the agreement's start_date or after its end_date is
      counted in outside_period_hours and never billed (is_outside_period).
    - Cap: in-period hours are capped over the whole agreement in month order. A month
      bills min(its in-period hours, cap_hours - in-period hours of earlier months,
      floored at 0): the month in which the cap is reached bills up to the cap, later
      months bill nothing. Hours not billed for that reason are over_cap_hours.
      cap_hours NULL means no cap.
    - Amount: billable_hours x tariff_cents_per_hour, computed exactly on decimals and
      rounded once per statement line to whole cents, halves away from zero
      (1141.50 -> 1142). Never rounded per booking.
#}
with

agreements as (
    select * from {{ ref('stg_municipal_orders__agreements') }}
),

bookings as (
    select * from {{ ref('stg_municipal_orders__bookings') }}
),

booking_lines as (
    select
        agreements.agreement_id,
        agreements.municipality_code,
        agreements.organisation,
        agreements.tariff_cents_per_hour,
        agreements.cap_hours,
        cast(date_trunc('month', bookings.booking_date) as date) as billing_month_date,
        bookings.hours,
        coalesce(
            bookings.booking_date < agreements.start_date
            or bookings.booking_date > agreements.end_date,
            false
        ) as is_outside_period
    from bookings
    inner join agreements
        on bookings.agreement_id = agreements.agreement_id
),

monthly as (
    select
        agreement_id,
        municipality_code,
        organisation,
        tariff_cents_per_hour,
        cap_hours,
        billing_month_date,
        sum(hours) as hours_booked,
        sum(case when is_outside_period then hours else 0 end) as outside_period_hours,
        sum(case when is_outside_period then 0 else hours end) as in_period_hours,
        bool_or(is_outside_period) as is_outside_period
    from booking_lines
    group by
        agreement_id,
        municipality_code,
        organisation,
        tariff_cents_per_hour,
        cap_hours,
        billing_month_date
),

cumulative as (
    select
        *,
        sum(in_period_hours) over (
            partition by agreement_id
            order by billing_month_date
            rows between unbounded preceding and current row
        ) as cumulative_hours
    from monthly
),

capped as (
    select
        *,
        case
            when cap_hours is null then in_period_hours
            when cap_hours - (cumulative_hours - in_period_hours) <= 0 then 0
            when in_period_hours < cap_hours - (cumulative_hours - in_period_hours)
                then in_period_hours
            else cap_hours - (cumulative_hours - in_period_hours)
        end as billable_hours
    from cumulative
),

final as (
    select
        cast(
            {{ surrogate_key(['agreement_id', 'billing_month_date']) }} as varchar
        ) as statement_line_id,
        cast(municipality_code as varchar) as municipality_code,
        cast(agreement_id as varchar) as agreement_id,
        cast(organisation as varchar) as organisation,
        cast(billing_month_date as date) as billing_month_date,
        cast(hours_booked as decimal(10, 2)) as hours_booked,
        cast(outside_period_hours as decimal(10, 2)) as outside_period_hours,
        cast(in_period_hours - billable_hours as decimal(10, 2)) as over_cap_hours,
        cast(billable_hours as decimal(10, 2)) as billable_hours,
        cast(tariff_cents_per_hour as integer) as tariff_cents_per_hour,
        cast(
            {{ round_half_up('cast(billable_hours as decimal(10, 2)) * tariff_cents_per_hour') }}
            as bigint
        ) as amount_cents,
        cast(cap_hours as integer) as cap_hours,
        cast(cumulative_hours as decimal(10, 2)) as cumulative_hours,
        cast(
            round(cumulative_hours * 100 / nullif(cap_hours, 0), 2) as decimal(10, 2)
        ) as cap_used_pct,
        cast(is_outside_period as boolean) as is_outside_period,
        cast(coalesce(cumulative_hours > cap_hours, false) as boolean) as is_over_cap
    from capped
)

select * from final
