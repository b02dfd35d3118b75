with

landed as (
    {{ published_rows('probation__orders') }}
),

latest as (
    {{ latest_version('landed') }}
),

renamed as (
    select
        cast(order_id as varchar) as order_id,
        cast(client_id as varchar) as client_id,
        cast(organisation as varchar) as organisation,
        cast(order_type as varchar) as order_type,
        cast(status as varchar) as order_status,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(hours_ordered as integer) as hours_ordered,
        cast(hours_served as integer) as hours_served,
        cast(conditions as varchar) as conditions_json,
        {{ utc_timestamp('updated_at') }} as updated_at,
        cast(_batch_id as varchar) as batch_id,
        cast(_received_at as timestamp) as received_at
    from latest
)

select * from renamed
