{#
    An organisation's profiles and open orders hold only its own clients: every row's
    pseudonym, taken back through the organisation's own domain, is a person with a
    client record at that organisation. Returns the rows that are not.
#}
with

domain_pseudonyms as (
    select * from {{ ref('stg_privacy__domain_pseudonyms') }}
),

clients as (
    select * from {{ ref('stg_probation__clients') }}
),

rows_by_organisation as (
    select
        client_pseudonym,
        organisation,
        'client_profiles' as mart
    from {{ ref('client_profiles') }}
    union all
    select
        client_pseudonym,
        organisation,
        'client_orders' as mart
    from {{ ref('client_orders') }}
),

owned as (
    select distinct
        domain_pseudonyms.domain_pseudonym,
        domain_pseudonyms.pseudonym_domain
    from domain_pseudonyms
    inner join clients
        on
            domain_pseudonyms.person_pseudonym = clients.person_pseudonym
            and domain_pseudonyms.pseudonym_domain = clients.organisation
)

select rows_by_organisation.*
from rows_by_organisation
left join owned
    on
        rows_by_organisation.client_pseudonym = owned.domain_pseudonym
        and rows_by_organisation.organisation = owned.pseudonym_domain
where owned.domain_pseudonym is null
