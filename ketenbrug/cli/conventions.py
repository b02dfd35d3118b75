"""What every `ketenbrug` command shares: help listings that are never cut, one ISO date
option (`--as-of`), and one way to fail (one line on stderr, a non-zero code)."""

from __future__ import annotations

from datetime import date, datetime

import click


class HubGroup(click.Group):
    """A command group whose listing shows each command's first sentence whole, wrapped,
    instead of cut at the terminal's width with '...'."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, command.get_short_help_str(limit=1_000))
                for name in self.list_commands(ctx)
                if (command := self.get_command(ctx, name)) is not None and not command.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class IsoDate(click.ParamType):
    """A calendar date as YYYY-MM-DD (ISO 8601), refused with the form expected."""

    name = "YYYY-MM-DD"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return datetime.strptime(str(value), "%Y-%m-%d").date()
        except ValueError:
            self.fail(f"{value!r} is not a date as YYYY-MM-DD (ISO 8601), e.g. 2026-11-30",
                      param, ctx)


ISO_DATE = IsoDate()


def as_of_option(help_text: str):
    """The reference date, named the same on every command that takes one."""
    return click.option("--as-of", "as_of", type=ISO_DATE, default=None, help=help_text)
