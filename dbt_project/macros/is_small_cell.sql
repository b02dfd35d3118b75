{#
    True when a person count is a small cell: at least one person, fewer than the
    small_cell_threshold var. Zero is not small (it discloses nobody); steering marts
    suppress a count when it, or a count it can be derived from, is small.
#}
{% macro is_small_cell(column) -%}
    {{ column }} between 1 and {{ int_var('small_cell_threshold') }} - 1
{%- endmacro %}
