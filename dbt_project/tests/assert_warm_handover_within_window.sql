-- Every warm-handover row falls in [as_of_date, as_of_date + handover_window_days].
select
    handover_id,
    expected_date
from {{ ref('warm_handover') }}
where
    expected_date < {{ as_of_date() }}
    or expected_date > {{ as_of_date() }} + {{ int_var('handover_window_days') }}
