{#
    The combination of `columns` is unique (rows with NULL in any of them are left out).
#}
{% test ketenbrug_unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as row_count
from {{ model }}
where
    {%- for column in columns %}
    {{ column }} is not null{{ ' and' if not loop.last }}
    {%- endfor %}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
