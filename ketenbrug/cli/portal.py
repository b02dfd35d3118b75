"""`ketenbrug portal` and `ketenbrug users`: the web portal and its local accounts."""

from __future__ import annotations

import click

from ketenbrug.cli.access import require_hub
from ketenbrug.cli.conventions import HubGroup
from ketenbrug.config import Settings

ROLE_CHOICE = click.Choice(["probation_officer", "municipality", "privacy_officer",
                            "data_steward"])


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (put a TLS-terminating proxy in front in production).")
@click.option("--port", type=int, help="Port [default: KETENBRUG_PORTAL_PORT, 8050].")
def portal(host: str, port: int | None) -> None:
    """The web portal for officers, municipalities, privacy officers and data stewards."""
    import uvicorn

    from ketenbrug.pipelines.asset_graph import asset_parents
    from ketenbrug.portal.app import create_app

    settings = Settings.from_env()
    require_hub(settings)
    port = port or int(settings.portal("portal_port"))
    click.echo(f"portal on http://{host}:{port} (Ctrl-C stops it)", err=True)
    uvicorn.run(create_app(settings, asset_parents), host=host, port=port, log_level="warning",
                proxy_headers=True, server_header=False)


@click.group(cls=HubGroup)
def users() -> None:
    """The portal's local accounts (demo and tests; production logs in by OpenID Connect)."""


@users.command("add")
@click.argument("login")
@click.option("--role", required=True, type=ROLE_CHOICE, help="What the account may do.")
@click.option("--org", "organisation", default="hub", show_default=True,
              help="RN, SVG or LJR for an officer; the CBS code (GM0363) for a municipality.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 12 characters [default: asked for, not echoed].")
def add(login: str, role: str, organisation: str, password: str) -> None:
    """Add a local account (its password stored as an argon2id hash)."""
    from ketenbrug.portal.accounts import AccountError, add_user
    from ketenbrug.portal.rights import Role
    from ketenbrug.portal.store import PortalStore

    settings = Settings.from_env()
    require_hub(settings)
    try:
        add_user(PortalStore(settings.home), login, Role(role), organisation, password)
    except AccountError as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"{login}: {role} of {organisation}")


@users.command("list")
def list_() -> None:
    """List the local accounts (login, role, organisation, since)."""
    from ketenbrug.portal.accounts import list_users
    from ketenbrug.portal.store import PortalStore

    settings = Settings.from_env()
    require_hub(settings)
    for user in list_users(PortalStore(settings.home)):
        click.echo(f"{user['login']}\t{user['role']}\t{user['organisation']}\t"
                   f"{user['created_at']}")


@users.command("remove")
@click.argument("login")
def remove(login: str) -> None:
    """Remove a local account and end its sessions."""
    from ketenbrug.portal.accounts import remove_user
    from ketenbrug.portal.store import PortalStore

    settings = Settings.from_env()
    require_hub(settings)
    if not remove_user(PortalStore(settings.home), login):
        raise click.ClickException(f"no local account {login}")
    click.echo(f"{login} removed; its sessions have ended")
