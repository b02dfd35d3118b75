with

landed as (
    {{ published_rows('dji__detentions') }}
),

latest as (
    {{ latest_version('landed') }}
),

renamed as (
    select
        cast(registration_number as varchar) as detention_id,
        cast(person_pseudonym as varchar) as person_pseudonym,
        cast(is_bsn_present as boolean) as is_bsn_present,
        cast(is_bsn_valid as boolean) as is_bsn_valid,
        cast(prison_code as varchar) as prison_code,
        cast(admission_date as date) as admission_date,
        cast(expected_release_date as date) as expected_release_date,
        cast(actual_release_date as date) as actual_release_date,
        cast(settlement_municipality_code as varchar) as settlement_municipality_code,
        {%- for condition in basic_conditions() %}
            cast({{ condition }}_status as varchar) as {{ condition }}_status,
            cast({{ condition }}_as_of as date) as {{ condition }}_as_of_date,
        {%- endfor %}
        {{ utc_timestamp('updated_at') }} as updated_at,
        cast(_batch_id as varchar) as batch_id,
        cast(_received_at as timestamp) as received_at
    from latest
)

select * from renamed
