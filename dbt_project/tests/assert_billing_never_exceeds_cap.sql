-- Billed hours of an agreement never exceed its cap, and nothing outside the
-- agreement period is billed.
with

lines as (
    select * from {{ ref('billing_statements') }}
),

per_agreement as (
    select
        agreement_id,
        max(cap_hours) as cap_hours,
        sum(billable_hours) as billable_hours
    from lines
    group by agreement_id
)

select
    agreement_id,
    'billed beyond the cap' as problem
from per_agreement
where billable_hours > cap_hours

union all

select
    agreement_id,
    'billed outside the period' as problem
from lines
where billable_hours > hours_booked - outside_period_hours
