{#
    Unpivots the five basic conditions of every detention (D&R plan) and every
    neighbourhood-team involvement into statements. A statement needs a status and the
    date it refers to; where one source record says two things about the same person,
    condition and date, the most recently updated record wins.
#}
with

detentions as (
    select * from {{ ref('stg_dji__detentions') }}
),

involvements as (
    select * from {{ ref('stg_wijkteam__involvements') }}
),

statements as (
    {%- for condition in basic_conditions() %}
    {%- for source_name, relation, record_id in [
        ('dji', 'detentions', 'detention_id'),
        ('wijkteam', 'involvements', 'involvement_id'),
    ] %}
            select
                person_pseudonym,
                '{{ condition }}' as basic_condition,
                '{{ source_name }}' as statement_source,
                {{ condition }}_status as condition_status,
                {{ condition }}_as_of_date as status_as_of_date,
                {{ record_id }} as source_record_id,
                updated_at as source_updated_at
            from {{ relation }}
            where
                person_pseudonym is not null
                and {{ condition }}_status is not null
                and {{ condition }}_as_of_date is not null
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by person_pseudonym, basic_condition, statement_source, status_as_of_date
            order by source_updated_at desc, source_record_id desc
        ) as statement_rank
    from statements
),

history as (
    select
        {{ surrogate_key([
            'person_pseudonym', 'basic_condition', 'statement_source', 'status_as_of_date',
        ]) }} as condition_statement_id,
        person_pseudonym,
        basic_condition,
        statement_source,
        status_as_of_date,
        condition_status,
        source_record_id
    from ranked
    where statement_rank = 1
)

select * from history
