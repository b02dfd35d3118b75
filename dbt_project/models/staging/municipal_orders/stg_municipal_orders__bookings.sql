with

landed as (
    {{ published_rows('municipal_orders__bookings') }}
),

latest as (
    {{ latest_version('landed') }}
),

renamed as (
    select
        cast(booking_id as varchar) as booking_id,
        cast(agreement_id as varchar) as agreement_id,
        cast(organisation as varchar) as organisation,
        cast(booking_date as date) as booking_date,
        cast(hours as decimal(10, 2)) as hours,
        cast(activity as varchar) as activity,
        {{ utc_timestamp('updated_at') }} as updated_at,
        cast(_batch_id as varchar) as batch_id,
        cast(_received_at as timestamp) as received_at
    from latest
)

select * from renamed
