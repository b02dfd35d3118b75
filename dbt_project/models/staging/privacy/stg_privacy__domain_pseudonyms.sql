with

source_rows as (
    select * from {{ source('privacy', 'domain_pseudonyms') }}
),

renamed as (
    select
        cast(domain_pseudonym as varchar) as domain_pseudonym,
        cast(domain as varchar) as pseudonym_domain,
        cast(person_pseudonym as varchar) as person_pseudonym
    from source_rows
)

select * from renamed
