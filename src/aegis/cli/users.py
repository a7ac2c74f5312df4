"""``aegis users create``: accounts from the command line (the first administrator)."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from rich.console import Console

from aegis.core.config import Settings
from aegis.core.errors import AegisError

users_app = typer.Typer(help="User accounts", no_args_is_help=True)
console = Console()


async def _create(
    settings: Settings, email: str, username: str, password: str | None, admin: bool
) -> str:
    from aegis.accounts.service import Accounts
    from aegis.db import create_app_engine
    from aegis.store.migrate import upgrade

    upgrade(settings.app_db_url)
    engine = create_app_engine(settings.app_db_url)
    accounts = Accounts.from_settings(settings, engine)
    try:
        if password is None:
            # the account exists already: only the administrator flag changes
            user = await accounts.set_admin(email, admin)
            return (
                f"{user.email} (id {user.id}) is {'now' if admin else 'no longer'} an administrator"
            )
        user = await accounts.signup(email, username, password, is_admin=admin)
        role = "administrator" if admin else "user"
        return f"created {role} {user.email} (id {user.id}, username {user.username})"
    finally:
        await accounts.close()
        await engine.dispose()


@users_app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="login email")],
    admin: Annotated[bool, typer.Option("--admin", help="make this user an administrator")] = False,
    username: Annotated[str | None, typer.Option(help="defaults to the email's local part")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Create a user (prompting for the password), or with --admin promote an existing one."""
    settings = Settings()
    exists = asyncio.run(_exists(settings, email))
    password: str | None = None
    if not exists:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    elif not admin:
        console.print(f"[red]{email} is already registered[/red]")
        raise typer.Exit(1)
    name = username or email.strip().lower().split("@", 1)[0][:30]
    try:
        console.print(asyncio.run(_create(settings, email, name, password, admin)))
    except AegisError as exc:
        console.print(f"[red]{exc.code}: {exc.message}[/red]")
        raise typer.Exit(1) from exc


async def _exists(settings: Settings, email: str) -> bool:
    import sqlalchemy as sa

    from aegis.accounts.service import normalize_email
    from aegis.accounts.tables import users
    from aegis.db import create_app_engine
    from aegis.store.migrate import upgrade

    upgrade(settings.app_db_url)
    engine = create_app_engine(settings.app_db_url)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                sa.select(users.c.id).where(users.c.email == normalize_email(email))
            )
        return found is not None
    except AegisError as exc:
        console.print(f"[red]{exc.code}: {exc.message}[/red]")
        raise typer.Exit(1) from exc
    finally:
        await engine.dispose()
