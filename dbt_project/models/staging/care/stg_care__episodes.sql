with

landed as (
    {{ published_rows('care__episodes') }}
),

latest as (
    {{ latest_version('landed') }}
),

renamed as (
    select
        cast(episode_id as varchar) as episode_id,
        cast(person_pseudonym as varchar) as person_pseudonym,
        cast(is_bsn_present as boolean) as is_bsn_present,
        cast(is_bsn_valid as boolean) as is_bsn_valid,
        cast(status as varchar) as episode_status,
        cast(category as varchar) as care_category,
        cast(period_start as date) as period_start_date,
        cast(period_end as date) as period_end_date,
        cast(managing_org_agb as varchar) as managing_org_agb,
        cast(managing_org_name as varchar) as managing_org_name,
        {{ utc_timestamp('updated_at') }} as updated_at,
        cast(_batch_id as varchar) as batch_id,
        cast(_received_at as timestamp) as received_at
    from latest
)

select * from renamed
