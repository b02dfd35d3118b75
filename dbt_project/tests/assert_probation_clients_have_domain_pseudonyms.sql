{{ config(severity='warn') }}
-- Warns when a pseudonymised probation client has no pseudonym in its organisation's
-- domain: such a client cannot be keyed and is missing from client_profiles.
with

clients as (
    select * from {{ ref('stg_probation__clients') }}
),

domain_pseudonyms as (
    select * from {{ ref('stg_privacy__domain_pseudonyms') }}
)

select
    clients.client_id,
    clients.organisation
from clients
left join domain_pseudonyms
    on
        clients.person_pseudonym = domain_pseudonyms.person_pseudonym
        and clients.organisation = domain_pseudonyms.pseudonym_domain
where
    clients.person_pseudonym is not null
    and domain_pseudonyms.domain_pseudonym is null
