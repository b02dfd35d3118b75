{#
    Round an exact decimal to a whole number, halves away from zero (2.5 -> 3,
    -2.5 -> -3), as commercial rounding does. Written out instead of round() so the rule
    does not depend on the engine or on the argument's type (round() on a double rounds
    a binary approximation).
#}
{% macro round_half_up(expression) -%}
    (
        case
            when ({{ expression }}) < 0 then -floor(-({{ expression }}) + 0.5)
            else floor(({{ expression }}) + 0.5)
        end
    )
{%- endmacro %}
