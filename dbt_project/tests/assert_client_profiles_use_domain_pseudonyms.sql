-- A client profile is keyed by the person's pseudonym in its organisation's own domain:
-- never an internal pseudonym, never another domain's pseudonym.
with

profiles as (
    select * from {{ ref('client_profiles') }}
),

internal_pseudonyms as (
    select person_pseudonym from {{ ref('int_clients_spine') }}
    union
    select person_pseudonym from {{ ref('stg_privacy__domain_pseudonyms') }}
),

domain_pseudonyms as (
    select * from {{ ref('stg_privacy__domain_pseudonyms') }}
)

select
    profiles.client_pseudonym,
    profiles.organisation,
    'equals an internal pseudonym' as problem
from profiles
inner join internal_pseudonyms
    on profiles.client_pseudonym = internal_pseudonyms.person_pseudonym

union all

select
    profiles.client_pseudonym,
    profiles.organisation,
    'not a pseudonym of the organisation''s domain' as problem
from profiles
left join domain_pseudonyms
    on
        profiles.client_pseudonym = domain_pseudonyms.domain_pseudonym
        and profiles.organisation = domain_pseudonyms.pseudonym_domain
where domain_pseudonyms.domain_pseudonym is null
