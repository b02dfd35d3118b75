{{ config(severity='warn') }}
-- Warns when a handover event inside the window has no municipality to hand over to:
-- it cannot be delivered and is left out of warm_handover.
select
    handover_id,
    event_type,
    expected_date
from {{ ref('int_handover_events') }}
where
    municipality_code is null
    and expected_date >= {{ as_of_date() }}
    and expected_date <= {{ as_of_date() }} + {{ int_var('handover_window_days') }}
