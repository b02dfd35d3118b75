with

landed as (
    {{ published_rows('wijkteam__involvements') }}
),

latest as (
    {{ latest_version('landed') }}
),

renamed as (
    select
        cast(involvement_id as varchar) as involvement_id,
        cast(person_pseudonym as varchar) as person_pseudonym,
        cast(is_bsn_present as boolean) as is_bsn_present,
        cast(is_bsn_valid as boolean) as is_bsn_valid,
        cast(municipality_code as varchar) as municipality_code,
        cast(involved_since as date) as involved_since_date,
        cast(domains as varchar) as domains_json,
        {%- for condition in basic_conditions() %}
            cast({{ condition }}_status as varchar) as {{ condition }}_status,
            cast({{ condition }}_as_of as date) as {{ condition }}_as_of_date,
        {%- endfor %}
        cast(contact_point as varchar) as contact_point,
        {{ utc_timestamp('updated_at') }} as updated_at,
        cast(_batch_id as varchar) as batch_id,
        cast(_received_at as timestamp) as received_at
    from latest
)

select * from renamed
