{# Every non-NULL value of the column is zero or more. #}
{% test ketenbrug_not_negative(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0

{% endtest %}
