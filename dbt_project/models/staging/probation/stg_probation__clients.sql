with

landed as (
    {{ published_rows('probation__clients') }}
),

latest as (
    {{ latest_version('landed') }}
),

renamed as (
    select
        cast(client_id as varchar) as client_id,
        cast(person_pseudonym as varchar) as person_pseudonym,
        cast(is_bsn_present as boolean) as is_bsn_present,
        cast(is_bsn_valid as boolean) as is_bsn_valid,
        cast(organisation as varchar) as organisation,
        cast(residence_municipality_code as varchar) as residence_municipality_code,
        cast(risc_level as varchar) as risc_level,
        cast(contact_point as varchar) as contact_point,
        {{ utc_timestamp('updated_at') }} as updated_at,
        cast(_batch_id as varchar) as batch_id,
        cast(_received_at as timestamp) as received_at
    from latest
)

select * from renamed
