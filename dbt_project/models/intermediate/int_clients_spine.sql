with

clients as (
    select * from {{ ref('stg_probation__clients') }}
),

detentions as (
    select * from {{ ref('stg_dji__detentions') }}
),

involvements as (
    select * from {{ ref('stg_wijkteam__involvements') }}
),

episodes as (
    select * from {{ ref('stg_care__episodes') }}
),

persons as (
    select person_pseudonym
    from clients
    where person_pseudonym is not null
    union
    select person_pseudonym
    from detentions
    where person_pseudonym is not null
    union
    select person_pseudonym
    from involvements
    where person_pseudonym is not null
    union
    select person_pseudonym
    from episodes
    where person_pseudonym is not null
),

probation_summary as (
    select
        person_pseudonym,
        string_agg(
            distinct organisation, ','
            order by organisation
        ) as probation_organisations,
        string_agg(
            distinct client_id, ','
            order by client_id
        ) as probation_client_ids
    from clients
    where person_pseudonym is not null
    group by person_pseudonym
),

clients_ranked as (
    select
        person_pseudonym,
        residence_municipality_code,
        row_number() over (
            partition by person_pseudonym
            order by updated_at desc, client_id desc
        ) as recency_rank
    from clients
    where person_pseudonym is not null
),

latest_residence as (
    select
        person_pseudonym,
        residence_municipality_code
    from clients_ranked
    where recency_rank = 1
),

detentions_ranked as (
    select
        person_pseudonym,
        settlement_municipality_code,
        row_number() over (
            partition by person_pseudonym
            order by admission_date desc nulls last, updated_at desc, detention_id desc
        ) as recency_rank
    from detentions
    where person_pseudonym is not null
),

latest_settlement as (
    select
        person_pseudonym,
        settlement_municipality_code
    from detentions_ranked
    where recency_rank = 1
),

episodes_flagged as (
    select
        person_pseudonym,
        care_category,
        (
            episode_status = 'active'
            and (period_start_date is null or period_start_date <= {{ as_of_date() }})
            and (period_end_date is null or period_end_date >= {{ as_of_date() }})
        ) as is_active
    from episodes
    where person_pseudonym is not null
),

care_summary as (
    select
        person_pseudonym,
        bool_or(is_active) as has_active_care_episode,
        string_agg(
            distinct case when is_active then care_category end, ','
            order by case when is_active then care_category end
        ) as active_care_categories
    from episodes_flagged
    group by person_pseudonym
),

spine as (
    select
        persons.person_pseudonym,
        probation_summary.probation_organisations,
        probation_summary.probation_client_ids,
        latest_residence.residence_municipality_code,
        latest_settlement.settlement_municipality_code,
        probation_summary.person_pseudonym is not null as has_probation_client,
        latest_settlement.person_pseudonym is not null as has_detention,
        persons.person_pseudonym in (
            select involvements.person_pseudonym
            from involvements
            where involvements.person_pseudonym is not null
        ) as has_wijkteam_involvement,
        care_summary.person_pseudonym is not null as has_care_episode,
        coalesce(care_summary.has_active_care_episode, false) as has_active_care_episode,
        care_summary.active_care_categories
    from persons
    left join probation_summary
        on persons.person_pseudonym = probation_summary.person_pseudonym
    left join latest_residence
        on persons.person_pseudonym = latest_residence.person_pseudonym
    left join latest_settlement
        on persons.person_pseudonym = latest_settlement.person_pseudonym
    left join care_summary
        on persons.person_pseudonym = care_summary.person_pseudonym
)

select * from spine
