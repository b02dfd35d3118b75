-- No published count lies between 1 and small_cell_threshold - 1, and a row with a
-- hidden count is marked suppressed.
select *
from {{ ref('volume_monitor') }}
where
    inflow_persons between 1 and {{ int_var('small_cell_threshold') }} - 1
    or active_persons between 1 and {{ int_var('small_cell_threshold') }} - 1
    or completed_persons between 1 and {{ int_var('small_cell_threshold') }} - 1
    or waiting_persons between 1 and {{ int_var('small_cell_threshold') }} - 1
    or (
        not is_suppressed
        and (
            inflow_persons is null
            or active_persons is null
            or completed_persons is null
            or waiting_persons is null
        )
    )
