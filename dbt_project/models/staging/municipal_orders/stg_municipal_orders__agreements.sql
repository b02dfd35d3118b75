with

landed as (
    {{ published_rows('municipal_orders__agreements') }}
),

latest as (
    {{ latest_version('landed') }}
),

renamed as (
    select
        cast(agreement_id as varchar) as agreement_id,
        cast(municipality_code as varchar) as municipality_code,
        cast(organisation as varchar) as organisation,
        cast(description as varchar) as description,
        cast(tariff_cents_per_hour as integer) as tariff_cents_per_hour,
        cast(cap_hours as integer) as cap_hours,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        {{ utc_timestamp('updated_at') }} as updated_at,
        cast(_batch_id as varchar) as batch_id,
        cast(_received_at as timestamp) as received_at
    from latest
)

select * from renamed
